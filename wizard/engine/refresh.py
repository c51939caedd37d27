"""Step.refresh as an apply ends: the records earlier steps keep on the server (os_updates' upgrade simulation),
read again once the later steps' installs have made them stale, so the next run finds them current.

Why it starts before the run ends: the read needs only that no package command is left, and the last step's
own work (files, restarts, checks) changes nothing it reads. So it starts as soon as the last step's plan shows no
package command, on its own channel beside that work, and the run's end only waits for what is left of it. If a
package command runs after it started (a later pass of the last step), the run's end reads once more. A read that
turns out useless is harmless: a record is a signature of what the simulation read, never wrong, only stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from wizard.engine.facts import Fact, FactGatherer
from wizard.engine.step import Context, Step, StepSettings
from wizard.engine.transports.base import Transport, TransportError


class Refresh:
    """Which records a run made stale, and the one read that brings them up to date."""

    def __init__(self, transport: Transport, selected: Sequence[tuple[Step, StepSettings]], ctx: Context) -> None:
        self.transport = transport
        self.selected = selected
        self.ctx = ctx
        self.installed: str | None = None  # the last step that ran a package command
        self.installs = 0  # package commands run so far, the ones behind the steps included
        self.task: asyncio.Task[TransportError | None] | None = None
        self.read_at = -1  # `installs` when the read in `task` started

    def ran(self, step: str) -> None:
        """A package command of `step` ran: the records of the steps before it are stale."""
        self.installed = step
        self.installs += 1

    def facts(self) -> list[Fact]:
        names = [step.name for step, _settings in self.selected]
        if self.installed not in names:
            return []
        return [fact for step, settings in self.selected[:names.index(self.installed)]
                for fact in step.refresh(settings, self.ctx)]

    def start(self) -> None:
        """Read now, in the background: the run has no package command left (or it ends). Never two at once: an
        earlier read still running is waited for by `finish`, so the current one writes last."""
        if self.read_at == self.installs or (self.task is not None and not self.task.done()):
            return
        facts = self.facts()
        if facts:
            self.read_at = self.installs
            self.task = asyncio.ensure_future(self._read(facts))

    async def _read(self, facts: list[Fact]) -> TransportError | None:
        try:
            await FactGatherer(self.transport).gather(facts)  # nothing cached: read as the server is now
        except TransportError as exc:
            return exc
        return None

    async def finish(self) -> TransportError | None:
        """The run ended well: wait for a read that is current (starting one if none is); why it failed, if so."""
        if self.task is not None and self.read_at != self.installs:
            await self.task  # out of date: a package command ran after it started
        self.start()
        return await self.task if self.task is not None else None

    def cancel(self) -> None:
        """The run ended badly: a read still running is of no use."""
        if self.task is not None:
            self.task.cancel()


__all__ = ["Refresh"]
