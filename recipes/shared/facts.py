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

    @classmethod
    def together(cls, facts: list[Fact]) -> Fact:
        """Every unit in one `systemctl show` (each run connects to systemd anew)."""
        return UnitsProperties(tuple(fact.unit for fact in facts if isinstance(fact, UnitProperties)))

    def part(self, answer: dict[str, dict[str, str]]) -> dict[str, str]:
        return answer.get(self.unit, {})

    def parse(self, out: str, status: int) -> dict[str, str]:
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


# $1 the properties, then the units: `systemctl show` prints one block per unit, in the order asked, a blank line
# between them. When it refuses the whole call (a unit name it cannot parse), each unit is asked alone, marked.
UNITS_SHOW = r"""p=$1; shift
systemctl show -p "$p" "$@" 2>/dev/null && exit 0
for u; do echo "@@ $u"; systemctl show -p "$p" "$u" 2>/dev/null; done; true
"""


@dataclass(frozen=True, eq=False)
class UnitsProperties(Fact):
    """UnitProperties of many units in one `systemctl show` (what a gather asks instead of one per unit)."""

    units: tuple[str, ...]

    kind = "units"

    def command(self) -> Command:
        return sh(UNITS_SHOW, "ActiveState,UnitFileState,NeedDaemonReload,LoadState", *self.units,
                  display="systemctl show -p ActiveState,UnitFileState,NeedDaemonReload,LoadState "
                          + " ".join(self.units))

    def parse(self, out: str, status: int) -> dict[str, dict[str, str]]:
        if out.startswith("@@ "):  # asked one by one
            blocks = {part.partition("\n")[0]: part.partition("\n")[2] for part in out[3:].split("\n@@ ")}
        else:
            parts = out.strip("\n").split("\n\n")
            blocks = dict(zip(self.units, parts, strict=True)) if len(parts) == len(self.units) else {}
        return {unit: dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
                for unit, text in blocks.items()}


@dataclass(frozen=True, eq=False)
class PackageVersion(Fact):
    """A package's version: the installed one (held too), else the one apt would install (its candidate), else
    None (not installed, and no package lists yet or no such package).

    Why the candidate: what a config file may say depends on the version that will run it (nginx's `http2 on`
    is 1.25.1+), and a dry run on a fresh server must render the file apply will write. dpkg-query and
    apt-cache are on every Debian and Ubuntu system, so nothing has to be installed to ask."""

    package: str

    kind = "package-version"
    root = False

    def command(self) -> Command:
        # apt-cache only when dpkg has no installed package; LC_ALL=C keeps its "Candidate:" label untranslated,
        # and the empty cache paths keep a dry run from writing apt's binary caches
        return sh('dpkg-query -W -f "\\${db:Status-Abbrev}\\t\\${Version}\\n" "$1" 2>/dev/null | grep "^.i" || '
                  'apt-cache -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= policy "$1" 2>/dev/null || true',
                  self.package, env={"LC_ALL": "C"})

    def parse(self, out: str, status: int) -> str | None:
        installed = candidate = None
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[0][1:2] == "i":  # dpkg-query: ii, hi (held); not rc (removed)
                installed = parts[1].strip()
            label, _sep, value = line.strip().partition(":")
            if label == "Candidate" and value.strip() != "(none)":
                candidate = value.strip()
        return installed or candidate


def upstream_version(debian_version: str | None) -> tuple[int, ...]:
    """(1, 26, 3) from "1.26.3-3+deb13u1" (epoch and Debian revision dropped); () when there is none."""
    match = re.match(r"^(?:\d+:)?(\d+(?:\.\d+)*)", debian_version or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


@dataclass(frozen=True, eq=False)
class UnitExposure(Fact):
    """`systemd-analyze security`'s overall exposure level of a service (0 = can do nothing, 10 = anything)
    and its label (OK, MEDIUM, EXPOSED...): {"level": 1.5, "label": "OK"}; None when systemd knows no such unit
    or cannot score it.

    Why read on the server: the level depends on the systemd that runs the unit (each version knows other
    settings), so only the server's own systemd-analyze can say what the unit really gets."""

    unit: str

    kind = "exposure"

    def command(self) -> Command:
        return sh('systemd-analyze security --no-pager "$1" 2>/dev/null | tail -n 3 || true', self.unit,
                  env={"LC_ALL": "C"})

    def parse(self, out: str, status: int) -> dict[str, float | str] | None:
        match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?) ([A-Z]+)", out)
        return {"level": float(match.group(1)), "label": match.group(2)} if match else None
