"""Host facts of backups: what its plan reads from the server (parse cases: tests/cases/facts/backups.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FileState

SET_NAME = re.compile(r"^(\d{8}T\d{6}Z)-([a-z0-9_.-]+)$")


def set_time(name: str) -> int | None:
    """When a backup set was taken (its name starts with the UTC time), as seconds since the epoch."""
    match = SET_NAME.match(name)
    if not match:
        return None
    return int(datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True, eq=False)
class BackupState(Fact):
    """The backup sets kept in `path` (oldest first), the last drill's record (`ok|failed SET AGE WHEN WHY`)
    and the server's clock: {"now": seconds, "sets": [...], "drill": {...} or None}."""

    path: str

    kind = "backups"

    def command(self) -> Command:
        return sh('date +%s; [ -d "$1" ] || exit 0; ls -1 "$1" | grep -E "^[0-9]{8}T[0-9]{6}Z-" | sed "s/^/set /"; '
                  '[ -f "$1/drill.status" ] && sed -n "1s/^/drill /p" "$1/drill.status"; true', self.path)

    def fresh(self) -> dict[str, object]:
        return {"now": None, "sets": [], "drill": None}

    def parse(self, out: str, status: int) -> dict[str, object]:
        lines = out.splitlines()
        now = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        sets = sorted(line[4:].strip() for line in lines if line.startswith("set ") and SET_NAME.match(line[4:]))
        drill = None
        for line in lines:
            if line.startswith("drill "):
                words = line[6:].split(" ", 4)
                if len(words) >= 4:
                    drill = {"result": words[0], "set": words[1], "age": int(words[2]) if words[2].isdigit()
                             else None, "when": words[3], "why": words[4] if len(words) > 4 else ""}
        return {"now": now, "sets": sets, "drill": drill}


@dataclass(frozen=True, eq=False)
class SecretFile(Fact):
    """A file that holds nothing but a secret (the off-server key): its hash, mode and owner, never its content.

    Why not FileInfo: read back, its content (base64) would be the secret's own encoding, which every output
    masks, so the answer would arrive broken; the hash is all a comparison needs."""

    path: str

    kind = "secret-file"

    def command(self) -> Command:
        return sh('if [ -f "$1" ]; then stat -c "%a %U %G %s" "$1" && sha256sum < "$1" | cut -d" " -f1; '
                  'else echo absent; fi', self.path)

    def parse(self, out: str, status: int) -> FileState | None:
        lines = out.split()
        if len(lines) != 5:
            return None
        mode, owner, group, size, digest = lines
        return FileState(digest, mode, owner, group, int(size), None)
