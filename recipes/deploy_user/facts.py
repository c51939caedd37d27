"""Host facts of deploy_user: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True)
class UserState:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    groups: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class UserInfo(Fact):
    name: str

    kind = "user"

    def command(self) -> Command:
        return sh('getent passwd "$1" && id -nG "$1" || echo absent', self.name)

    def parse(self, out: str, status: int) -> UserState | None:
        lines = out.splitlines()
        if not lines or lines[0] == "absent" or len(lines) < 2:
            return None
        fields = lines[0].split(":")
        return UserState(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6], tuple(lines[1].split()))
