"""Host facts of app_server: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FileInfo


class CpuCount(Fact):
    kind = "nproc"

    def command(self) -> Command:
        return cmd("nproc")

    def fresh(self) -> int:
        return 2

    def parse(self, out: str, status: int) -> int:
        return int(out.strip() or 1)


@dataclass(frozen=True, eq=False)
class EnvAge(Fact):
    """When the service last started, and when some files last changed (epoch seconds, or None): its env files,
    or the venv's marks (recipes.shared.web.venv_marks).

    Why: systemd reads EnvironmentFile= only when the service starts, and a graceful reload keeps the old
    environment. A database password changed by the database step must restart the app; comparing times
    needs no secret (a hash of the file would be one more form of the password).
    """

    unit: str
    files: tuple[str, ...]

    kind = "env-age"

    def command(self) -> Command:
        return sh('systemctl show -P ActiveEnterTimestamp --timestamp=us+utc "$1" 2>/dev/null || echo; shift; '
                  'for f; do [ -e "$f" ] && stat -c %.6Y "$f"; done; true', self.unit, *self.files)

    def fresh(self) -> dict[str, float | None]:
        return {"started": None, "changed": None}

    def parse(self, out: str, status: int) -> dict[str, float | None]:
        lines = out.splitlines() or [""]
        started = None
        stamp = lines[0].strip()
        if stamp and stamp != "n/a":
            started = datetime.strptime(stamp, "%a %Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=UTC).timestamp()
        times = [float(line) for line in lines[1:] if line.strip()]
        return {"started": started, "changed": max(times) if times else None}

    @staticmethod
    def newer(value: dict[str, float | None]) -> bool:
        """Whether a file changed after the service started."""
        return bool(value["started"] and value["changed"] and value["changed"] > value["started"])

    def after(self, value: dict[str, float | None], planned: Mapping[str, Any]) -> dict[str, float | None]:
        """In a dry run, an env file an earlier change writes (the code step's app.env, the database step's
        password) counts as changed after the service started: apply will find it so and restart the service,
        and the plan says so too."""
        started = value["started"]
        if started is not None and any(FileInfo(path).key in planned for path in self.files):
            return {**value, "changed": max(value["changed"] or started, started + 1)}
        return value


def started_after(unit: str, files: Sequence[str]) -> Command:
    """Succeeds when the unit started after every one of the files last changed (a restart's skip_if)."""
    return sh('s=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix "$1"); s=${s#@}; shift; '
              'for f; do [ -e "$f" ] && [ "$(stat -c %Y "$f")" -gt "${s:-0}" ] && exit 1; done; exit 0', unit, *files)
