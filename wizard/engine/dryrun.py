"""The dry half of the runner: plan a step from facts, a whole recipe's plan, and the drift check.

Why apart from the apply (wizard.engine.runner, which builds on it): a dry run reads and never writes, so it
can read every step's facts at once (wizard.engine.ahead), and its only commands besides facts are the health
checks of `check`. Why those: a drift check that finds every file in place still says nothing about whether the
app answers; a step in place is asked to prove it works with the same checks an apply runs after it changed
the step (Step.verify), here and only here, never on a no-op apply, where nothing changed that could break it.
"""

from __future__ import annotations

import time

from wizard.engine.ahead import MAX_FACT_ROUNDS, read_ahead
from wizard.engine.errors import DeployWizardError
from wizard.engine.events import (
    Notice,
    NoticeLevel,
    Resume,
    RunEnd,
    RunFinished,
    RunMode,
    RunStarted,
    Sink,
    StepFailed,
    StepFinished,
    StepNoop,
    StepPlanned,
    StepStarted,
    StepStatus,
)
from wizard.engine.facts import FactGatherer
from wizard.engine.i18n import _
from wizard.engine.results import RunResult, StepPlan
from wizard.engine.step import Change, Context, Later, Ok, PlanError, Step, StepSettings, Warn
from wizard.engine.transports.base import Transport, TransportError

Selected = list[tuple[Step, StepSettings]]


class StepError(DeployWizardError):
    """A change failed; the message is the masked reason."""


class DryRun:
    """Plans and checks; wizard.engine.runner.Runner sets these attributes and adds apply."""

    transport: Transport
    selected: Selected
    emit: Sink
    ctx: Context
    facts: FactGatherer
    max_passes: int
    resume: Resume | None

    async def _execute(self, step: str, change: Change, *, check: bool = False) -> None:
        raise NotImplementedError  # the Runner's

    async def plan_step(self, step: Step, settings: StepSettings) -> StepPlan:
        known = self.facts.cache
        for _round in range(MAX_FACT_ROUNDS):
            wanted = [f for f in step.facts(settings, known, self.ctx) if f not in known]
            if not wanted:
                break
            known = await self.facts.gather(wanted, by=step.name)
        plan = StepPlan(step.name)
        for item in step.plan(settings, known, self.ctx):
            if isinstance(item, Ok):
                plan.notes.append(item.reason)
            elif isinstance(item, Later):
                plan.later.append(item)
            elif isinstance(item, Warn):
                plan.warnings.append(item)
            else:
                plan.changes.append(item)
        return plan

    async def plan_ahead(self, step: Step, settings: StepSettings) -> StepPlan:
        """A dry run's plan of one step, made in the passes apply will make: each pass plans from what the
        passes before it leave (postgresql installed, then its role and database), and keeps what is new."""
        plan = await self.plan_step(step, settings)
        seen = {(change.why, change.describe()) for change in [*plan.changes, *plan.later]}
        for _pass in range(self.max_passes):
            self.facts.expect(leaf for change in plan.changes for leaf in change.leaves)
            more = await self.plan_step(step, settings)
            new = [change for change in [*more.changes, *more.later] if (change.why, change.describe()) not in seen]
            if not new:
                break
            seen.update((change.why, change.describe()) for change in new)
            plan.changes += [change for change in new if not isinstance(change, Later)]
            plan.later += [change for change in new if isinstance(change, Later)]
        self.facts.expect(leaf for change in plan.changes for leaf in change.leaves)
        return plan

    def _header(self, mode: RunMode) -> None:
        self.emit(RunStarted(host=self.transport.label, mode=mode, steps=[s.name for s, _ in self.selected]))

    async def plan(self, mode: RunMode = RunMode.PLAN) -> RunResult:
        """Dry run: facts only, nothing written on the host. RunMode.CHECK = the same, read as drift. The transport
        is sealed meanwhile: a secret may be resolved here and compared as a hash, never sent (SecretRefused)."""
        sealed, self.transport.sealed = self.transport.sealed, True
        try:
            return await self._plan(mode)
        finally:
            self.transport.sealed = sealed

    async def _plan(self, mode: RunMode) -> RunResult:
        started = time.monotonic()
        self._header(mode)
        plans, error, failed = [], None, None
        await read_ahead(self.facts, self.selected, self.ctx)  # a dry run changes nothing: every step's facts at once
        for index, (step, settings) in enumerate(self.selected):
            self.emit(StepStarted(step=step.name, index=index, total=len(self.selected)))
            t0, sent = time.monotonic(), self._sent()
            try:
                plan = await self.plan_ahead(step, settings)
            except (PlanError, TransportError) as exc:
                error, failed = str(exc), step.name
                self.emit(StepFailed(step=step.name, error=error))
                break
            plans.append(plan)
            broken = await self._planned(step, settings, plan, mode)
            if broken is not None:
                error, failed = error or broken, failed or step.name
            self.emit(StepFinished(step=step.name,
                                   status=StepStatus.FAILED if broken is not None else
                                   StepStatus.PLANNED if plan.changes or plan.later else StepStatus.OK,
                                   changes=len(plan.changes), seconds=time.monotonic() - t0,
                                   round_trips=self.transport.round_trips - sent[0],
                                   commands=self.transport.commands - sent[1], later=len(plan.later)))
        total = sum(len(p.changes) for p in plans)
        result = RunResult(ok=error is None, changes=total,
                           changed_steps=[p.step for p in plans if p.changes or p.later], failed_step=failed,
                           error=error, seconds=time.monotonic() - started, round_trips=self.transport.round_trips,
                           commands=self.transport.commands, plans=plans, later=sum(len(p.later) for p in plans),
                           end=RunEnd.DONE if error is None else RunEnd.FAILED)
        self._footer(result)
        return result

    async def _planned(self, step: Step, settings: StepSettings, plan: StepPlan, mode: RunMode) -> str | None:
        """Say the step's plan; in `check`, a step in place must also work: why it does not, else None."""
        shown = plan.to_dict()
        self.emit(StepPlanned(step=step.name, changes=shown["changes"], notes=plan.notes, later=shown["later"],
                              warnings=shown["warnings"]))
        if plan.changes or plan.later:
            return None
        self.emit(StepNoop(step=step.name, reason=plan.reason()))
        broken = await self._works(step, settings) if mode is RunMode.CHECK else None
        if broken is not None:
            self.emit(StepFailed(step=step.name, error=broken))
        return broken

    async def _works(self, step: Step, settings: StepSettings) -> str | None:
        """`check` of a step in place: its health checks (Step.verify) pass; else why not. A check that would
        send a secret (a password on redis-cli's input) is not run, and the operator is told so: a dry run never
        sends one."""
        for check in step.verify(settings, self.ctx):
            if check.command.secrets():
                self.emit(Notice(step=step.name, text=_("not checked here, because it sends a secret and a check "
                                                        "never does: {what}").format(what=check.why),
                                   level=NoticeLevel.NOTE))
                continue
            try:
                await self._execute(step.name, check, check=True)
            except (StepError, TransportError) as exc:
                return str(exc)
        return None

    def _footer(self, result: RunResult) -> None:
        self.emit(RunFinished(ok=result.ok, changes=result.changes, changed_steps=result.changed_steps,
                              seconds=result.seconds, round_trips=result.round_trips, commands=result.commands,
                              journal=result.journal,
                              later=result.later, failed_step=result.failed_step, end=result.end))

    def _sent(self) -> tuple[int, int]:
        """Round trips and commands sent so far on this connection (a step's own: the difference)."""
        return self.transport.round_trips, self.transport.commands
