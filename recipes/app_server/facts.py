"""Host facts of app_server: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from wizard.engine.commands import Command, cmd
from wizard.engine.facts import Fact


class CpuCount(Fact):
    kind = "nproc"

    def command(self) -> Command:
        return cmd("nproc")

    def fresh(self) -> int:
        return 2

    def parse(self, out: str, status: int) -> int:
        return int(out.strip() or 1)
