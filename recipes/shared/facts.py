"""Host facts of shared: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True, eq=False)
class Readlink(Fact):
    path: str

    kind = "readlink"

    def command(self) -> Command:
        return sh('readlink "$1" || true', self.path)

    def parse(self, out: str, status: int) -> str | None:
        return out.strip() or None


@dataclass(frozen=True, eq=False)
class DirEntries(Fact):
    """Names in a directory with their modification times, oldest first."""

    path: str

    kind = "entries"

    def command(self) -> Command:
        return sh('[ -d "$1" ] && cd "$1" && for e in * ; do [ -e "$e" ] && stat -c "%Y %n" "$e"; done; true',
                   self.path)

    def fresh(self) -> list[str]:
        return []

    def parse(self, out: str, status: int) -> list[str]:
        rows = [line.split(" ", 1) for line in out.splitlines() if " " in line]
        return [name for _, name in sorted(rows, key=lambda r: (int(r[0]), r[1]))]


@dataclass(frozen=True, eq=False)
class UnitProperties(Fact):
    """Selected `systemctl show` properties: ActiveState, UnitFileState, NeedDaemonReload..."""

    unit: str

    kind = "unit"

    def command(self) -> Command:
        return cmd("systemctl", "show", "-p", "ActiveState,UnitFileState,NeedDaemonReload,LoadState", self.unit)

    def fresh(self) -> dict[str, str]:
        return {}

    def parse(self, out: str, status: int) -> dict[str, str]:
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@dataclass(frozen=True, eq=False)
class PackageVersion(Fact):
    """A package's version: the installed one, else the one apt would install (its candidate), else None.

    Why the candidate: what a config file may say depends on the version that will run it (nginx's `http2 on`
    is 1.25.1+), and a dry run on a fresh server must render the file apply will write."""

    package: str

    kind = "package-version"

    def command(self) -> Command:
        return sh('v=$(dpkg-query -W -f "\\${db:Status-Abbrev}\\${Version}" "$1" 2>/dev/null); '
                  'case $v in ii*) echo "${v#ii }";; *) apt-cache policy "$1" 2>/dev/null | '
                  'sed -n "s/^ *Candidate: //p";; esac', self.package)

    def parse(self, out: str, status: int) -> str | None:
        value = out.strip()
        return None if value in ("", "(none)") else value


def upstream_version(debian_version: str | None) -> tuple[int, ...]:
    """(1, 26, 3) from "1.26.3-3+deb13u1" (epoch and Debian revision dropped); () when there is none."""
    match = re.match(r"^(?:\d+:)?(\d+(?:\.\d+)*)", debian_version or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()
