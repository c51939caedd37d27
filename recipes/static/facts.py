"""Host facts of static: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True, eq=False)
class Ancestors(Fact):
    """Mode of every directory from `path` up to /: who can walk down to it."""

    path: str

    kind = "ancestors"

    def command(self) -> Command:
        return sh('p=$1; while [ "$p" != / ] && [ -n "$p" ]; do [ -e "$p" ] && stat -c "%a %F %n" "$p"; '
                   'p=$(dirname "$p"); done; true', self.path)

    def fresh(self) -> list[tuple[str, str]]:
        return []

    def parse(self, out: str, status: int) -> list[tuple[str, str]]:
        rows = []
        for line in out.splitlines():
            mode, rest = line.split(" ", 1)
            if rest.startswith("directory "):
                rows.append((mode, rest[len("directory "):]))
        return rows
