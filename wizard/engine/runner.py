"""Plan and apply recipe steps against one host.

Why a step is re-planned right before it runs, and again after: a plan made minutes ago (or for a fresh
host) is only a proposal. Apply plans each step from facts read after the last change that ran (read ahead
for many steps at once while nothing changes: wizard.engine.ahead), runs what is still needed, then plans once
more: when that shows nothing left, the step is proven converged; when it shows more (apt lists just refreshed
reveal upgrades), those run too, up to `max_passes`, and a step that never converges is a failure, because
a second run would not be a no-op.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Literal

from wizard.engine import diskfull
from wizard.engine.ahead import MAX_FACT_ROUNDS, Ahead
from wizard.engine.behind import Behind, Job, uses_packages
from wizard.engine.commands import without_note
from wizard.engine.dryrun import DryRun, Selected, StepError
from wizard.engine.errors import DeployWizardError
from wizard.engine.events import (
    ChangeDone,
    ChangeStarted,
    Event,
    Notice,
    NoticeLevel,
    OutputLine,
    Resume,
    RunEnd,
    RunMode,
    Sink,
    StepFailed,
    StepFinished,
    StepNoop,
    StepStarted,
    StepStatus,
)
from wizard.engine.facts import FactGatherer
from wizard.engine.i18n import _, clauses, n_
from wizard.engine.refresh import Refresh
from wizard.engine.results import Progress, RunResult
from wizard.engine.step import (
    Change,
    Context,
    PlanError,
    ProveLogin,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    WaitForOperator,
    Warn,
)
from wizard.engine.transports.base import OutputCallback, Result, Transport, TransportError

NOTICE_PREFIX = "deploy-wizard: "  # output lines our own scripts print to tell the operator something

ChangeDecision = Literal["run", "skip", "stop"]  # step-through: run the change, leave just it out, or stop the run
# step-through: asked before each change; True is "run", False is "stop"
BeforeChange = Callable[[str, Change], Awaitable[bool | ChangeDecision]]
AskOperator = Callable[[str, str], Awaitable[bool]]  # (step, message) -> done? ; False aborts the step
FailureDecision = Literal["retry", "skip", "abort"]
OnFailure = Callable[[str, str], Awaitable[FailureDecision]]  # (step, error) -> what the operator chose


class StoppedByOperator(DeployWizardError):
    """Step-through: the operator stopped the run before a change. Their decision, not a failure: the run ends
    there, and nothing asks whether to retry."""


class Runner(DryRun):
    def __init__(self, transport: Transport, selected: Selected, emit: Sink, *, max_passes: int = 3,
                 before_change: BeforeChange | None = None, journal: str | None = None,
                 ctx: Context | None = None, ask_operator: AskOperator | None = None,
                 on_failure: OnFailure | None = None, resume: Resume | None = None) -> None:
        self.resume = resume  # an earlier run of this recipe here that did not finish: its completed steps are skipped
        self.on_failure = on_failure
        self.journal = journal
        self.ctx = ctx or Context()
        self.ask_operator = ask_operator
        self.transport = transport
        self.selected = selected
        self.emit = emit
        self.max_passes = max_passes
        self.host: str | None = None  # the first step that ran a package command: once it is done, the later
        # steps' early installs run behind the steps before theirs (wizard.engine.behind)
        self.open: str | None = None  # the step running now
        self.before_change = before_change
        self.facts = FactGatherer(transport)
        self.ahead = Ahead(self.facts, self.ctx)  # an apply reads later steps' facts ahead while nothing changes
        self.declined: dict[tuple[str, str, str], str] = {}  # (step, why, command) -> "step: why", left out
        # variables every change command carries (the deploy lock's run tag: what the next run waits for)
        self.command_env: tuple[tuple[str, str], ...] = ()
        self.behind = Behind(transport, lambda: self.command_env)
        self.refresh = Refresh(transport, selected, self.ctx)  # the records the later steps' installs made stale

    async def apply(self) -> RunResult:
        """Apply each step in order. However the run ends, even by Ctrl-C or an error that is not a step's, its last
        record is written (RunFinished with how it ended), so a later `--resume` knows it from a cut-off run."""
        started = time.monotonic()
        self._header(RunMode.APPLY)
        done, index = Progress(), 0
        try:
            while index < len(self.selected):
                index = await self._apply_at(index, done)
            await self._settle(done)
            await self._refresh(done)
        except BaseException as exc:
            self.refresh.cancel()
            cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            try:
                if not cancelled:
                    await self._settle(done)
            except (asyncio.CancelledError, KeyboardInterrupt):
                cancelled = True
            if cancelled:
                await asyncio.shield(self.behind.cancel())
            done.error = _("cancelled") if cancelled else str(exc) or type(exc).__name__
            done.end = RunEnd.CANCELLED if cancelled else RunEnd.ERROR
            if done.open is not None:
                done.failed = done.open
                self.emit(StepFailed(step=done.open, error=done.error))
                self._step_finished(done, StepStatus.FAILED, 0, started, self._sent())
            self._footer(self._result(done, started))
            raise
        result = self._result(done, started)
        self._footer(result)
        return result

    def _result(self, done: Progress, started: float) -> RunResult:
        return RunResult(ok=done.end is RunEnd.DONE and not done.skipped, changes=done.total,
                         changed_steps=done.changed,
                         failed_step=done.failed or (done.skipped[0] if done.skipped else None),
                         error=done.error, seconds=time.monotonic() - started, round_trips=self.transport.round_trips,
                         commands=self.transport.commands,
                         journal=self.journal, skipped=done.skipped, declined=list(self.declined.values()),
                         stopped=done.stopped, end=done.end)

    def _step_finished(self, done: Progress, status: StepStatus, changes: int, t0: float,
                       sent: tuple[int, int]) -> None:
        assert done.open is not None
        self.emit(StepFinished(step=done.open, status=status, changes=changes, seconds=time.monotonic() - t0,
                               round_trips=self.transport.round_trips - sent[0],
                               commands=self.transport.commands - sent[1]))
        done.open = None

    async def _apply_at(self, index: int, done: Progress) -> int:
        """Apply the step at `index`; the index to go on with (past the last step: the run ends)."""
        step, settings = self.selected[index]
        self.emit(StepStarted(step=step.name, index=index, total=len(self.selected)))
        done.open, t0, sent = step.name, time.monotonic(), self._sent()
        self.open = step.name
        if self.resume and step.name in self.resume.done:
            self.emit(StepNoop(step=step.name, reason=self._resumed_reason()))
            self._step_finished(done, StepStatus.OK, 0, time.monotonic(), self._sent())
            return index + 1
        try:
            taken = await self._take_behind(step.name)
            if self.behind.jobs:  # installs ran or run behind: facts read ahead may predate their end
                self.ahead.changed()
            await self.ahead.before([(s, v) for s, v in self.selected[index:]
                                     if not (self.resume and s.name in self.resume.done)])
            count = await self.apply_step(step, settings, applied=taken)
        except StoppedByOperator as exc:
            self.emit(Notice(step=step.name, text=str(exc), level=NoticeLevel.NOTE))
            self._step_finished(done, StepStatus.STOPPED, 0, t0, sent)
            done.stopped, done.failed, done.end = str(exc), step.name, RunEnd.STOPPED
            return len(self.selected)
        except (StepError, PlanError, TransportError) as exc:
            self.ahead.changed()  # the step may have changed something, and so may the operator before a retry
            self.ahead.finished()
            self.emit(StepFailed(step=step.name, error=str(exc)))
            self._step_finished(done, StepStatus.FAILED, 0, t0, sent)
            decision = await self._decide(step.name, str(exc))
            if decision == "retry":
                return index
            if decision == "skip":
                done.skipped.append(step.name)
                return index + 1
            done.error, done.failed, done.end = str(exc), step.name, RunEnd.FAILED
            return len(self.selected)
        self.ahead.finished()
        done.total += count
        if count:
            done.changed.append(step.name)
        self._step_finished(done, StepStatus.CHANGED if count else StepStatus.OK, count, t0, sent)
        if self.host is not None and not self.behind.started and self.before_change is None:
            self._start_behind(index + 1)
        return index + 1

    async def _decide(self, step: str, error: str) -> FailureDecision:
        """What the operator chose about a failed step; no install starts behind while they decide."""
        if self.on_failure is None:
            return "abort"
        self.behind.pause()
        try:
            return await self.on_failure(step, error)
        finally:
            self.behind.resume()

    def _start_behind(self, index: int) -> None:
        """Look for the early installs of the steps from `index` on, queued as found, to run behind the steps
        before theirs (wizard.engine.behind). Not in step-through: there each change waits for a yes."""
        rest = [(s, v) for s, v in self.selected[index:] if not (self.resume and s.name in self.resume.done)]
        self.facts.invalidate()  # the step before just changed the server: the look ahead reads it as it is now
        self.behind.look(rest, self.facts, self.ctx, MAX_FACT_ROUNDS, self._behind_started)

    def _behind_started(self, job: Job) -> None:
        self.emit(Notice(step=self.open or job.step, level=NoticeLevel.NOTE, text=job.told("start")))

    async def _take_behind(self, step: str) -> int:
        """The step's installs that ran behind, shown in its own place as if it had run them; how many ran."""
        ran = 0
        for job in await self.behind.take(step):
            await job.begun.wait()
            if job.started is None:
                continue  # never ran (the queue stopped at an earlier failure): the step plans it itself
            await self._execute(step, job.change, behind=job)
            self.refresh.ran(step)
            ran += 1
        return ran

    async def _settle(self, done: Progress) -> None:
        """The run ends: the installs behind finish as Behind.settle says, told in the step open or last run."""
        await self.behind.settle(lambda level, text: self.emit(Notice(step=done.open or self.open or "",
                                                                      level=level, text=text)))

    async def _refresh(self, done: Progress) -> None:
        """A whole run whose later steps changed packages reads once more what the steps before them keep a record
        of (Step.refresh), so the record is current for the next run (started early: wizard.engine.refresh)."""
        if done.end is not RunEnd.DONE or done.skipped:
            self.refresh.cancel()
        elif (exc := await self.refresh.finish()) is not None:  # every step is done: only the next run's speed
            self.emit(Notice(step=self.open or "", level=NoticeLevel.WARNING, text=_(
                "the steps' records were not refreshed at the end ({why}): the next run reads those facts "
                "again").format(why=exc)))

    def _resumed_reason(self) -> str:
        """Why a step is not run again: the earlier run completed it, and how that run ended."""
        assert self.resume is not None
        journal = self.resume.journal
        if self.resume.end is None:
            return _("completed in the interrupted run ({journal})").format(journal=journal)
        if self.resume.failed_step:
            return _("completed in the run that stopped at {step} ({journal})").format(
                step=self.resume.failed_step, journal=journal)
        return _("completed in the run that ended early ({journal})").format(journal=journal)

    async def apply_step(self, step: Step, settings: StepSettings, applied: int = 0) -> int:
        """Run the step's changes until a plan shows nothing left; `applied`: changes already run for it (its
        install, in the background). How many ran."""
        told: list[str] = []  # a warning is said once, in whichever pass first finds it (after a checkout)
        for attempt in range(self.max_passes + 1):
            if attempt:  # the pass before ran changes (the first pass plans from what self.ahead left)
                self.facts.invalidate()
            plan = await self.plan_step(step, settings)
            plan.changes = [change for change in plan.changes if _key(step.name, change) not in self.declined]
            if step is self.selected[-1][0] and not any(uses_packages(change) for change in plan.changes):
                self.refresh.start()  # no package command is left in the run
            self._tell(step.name, plan.warnings, told)
            if plan.noop:
                if plan.later:  # a decision that waits for what the operator left out is theirs, not a failure
                    undecided = clauses(f"{c.why} ({c.reason})" for c in plan.later)
                    left_out = [why for name, why, _command in self.declined if name == step.name]
                    if not left_out:
                        raise StepError(_("the step cannot decide: {what}").format(what=undecided))
                    self.emit(Notice(step=step.name, level=NoticeLevel.NOTE, text=_(
                        "Not decided, since you left out {left}: {what}").format(left=clauses(left_out),
                                                                                  what=undecided)))
                if attempt == 0 and not applied:
                    self.emit(StepNoop(step=step.name, reason=plan.reason()))
                elif applied:
                    for check in step.verify(settings, self.ctx):
                        await self._execute(step.name, check, check=True)
                return applied
            if attempt == self.max_passes:
                raise StepError(n_("step did not converge: after {n} pass it still wants: {what}",
                                   "step did not converge: after {n} passes it still wants: {what}",
                                   self.max_passes).format(
                    n=self.max_passes, what=clauses(c.describe() for c in plan.changes)))
            applied += await self._run_changes(step.name, plan.changes, told)
        return applied

    def _tell(self, step: str, warnings: list[Warn], told: list[str]) -> None:
        for warning in warnings:
            if warning.text not in told:
                told.append(warning.text)
                self.emit(Notice(step=step, text="\n".join(filter(None, (warning.text, warning.fix)))))

    async def _run_changes(self, step: str, changes: list[Change], told: list[str]) -> int:
        ran = 0
        for change in changes:
            decision = await self.before_change(step, change) if self.before_change is not None else "run"
            if decision is False or decision == "stop":
                raise StoppedByOperator(_("Stopped at your request before: {what}").format(
                    what=without_note(change.describe())))
            if decision == "skip":  # this change only; the step's later passes do not offer it again
                self.declined[_key(step, change)] = f"{step}: {change.why}"
                self.emit(Notice(step=step, text=_("Left out at your request: {what}").format(
                    what=without_note(change.describe())), level=NoticeLevel.NOTE))
                continue
            ran += 1
            self.ahead.changed()
            if uses_packages(change):
                self.host = self.host or step
                self.refresh.ran(step)
            try:
                await self._execute(step, change)
            except StepError as exc:
                if not told:
                    raise
                # what the plan warned about is the likeliest cause: say it where the operator is looking
                raise StepError(f"{exc}\n" + _("The plan warned about this step:") + "\n" + "\n".join(
                    f"  ! {text}" for text in told)) from exc
        return ran

    async def _execute(self, step: str, change: Change, *, check: bool = False, behind: Job | None = None) -> None:
        """Run one change and show it; `behind`: it ran (or runs) behind the steps: show it, and wait for its end."""
        if behind is None and uses_packages(change):
            await self.behind.drain()  # apt and dpkg one at a time, in the order the run asked for them
        self.emit(ChangeStarted(step=step, why=change.why, description=change.describe(), check=check))
        t0, tail = time.monotonic(), list[str]()

        def on_output(stream: str, text: str) -> None:
            tail.append(text)
            del tail[:-20]
            if text.startswith(NOTICE_PREFIX):
                # our scripts say progress on stdout and trouble on stderr
                self.emit(Notice(step=step, text=text[len(NOTICE_PREFIX):],
                                 level=NoticeLevel.WARNING if stream == "stderr" else NoticeLevel.NOTE))
            self.emit(OutputLine(step=step, stream=stream, text=text))

        if behind is not None:
            result = await self._followed(step, behind, on_output)
            ok, t0 = result.exit_status in behind.change.ok_codes, time.monotonic() - behind.seconds
        elif isinstance(change, RunCommand):
            command = replace(change.command, env=(*change.command.env, *self.command_env))
            result = await self.transport.run(command, on_output=on_output, timeout=change.timeout)
            ok = result.exit_status in change.ok_codes
        elif isinstance(change, PutFile):
            result = await self.transport.put(change.content, change.path, mode=change.mode, owner=change.owner,
                                              group=change.group, check=change.check, on_output=on_output)
            ok = result.ok
        elif isinstance(change, WaitForOperator):
            if self.ask_operator is None or not await self.ask_operator(step, change.message):
                raise StepError(_("waiting for the operator: {message}\nDo it, then run apply again.").format(
                    message=change.message))
            self.emit(ChangeDone(step=step, description=change.describe(), exit_status=0,
                                  seconds=time.monotonic() - t0))
            return
        elif isinstance(change, ProveLogin):
            error = await self.transport.probe_login(change.user)
            if error:
                raise StepError("\n".join(filter(None, (_("a fresh SSH login{who} failed: {why}").format(
                    who=f" ({change.user})" if change.user else "", why=error), change.if_failed))))
            self.emit(ChangeDone(step=step, description=change.describe(), exit_status=0,
                                  seconds=time.monotonic() - t0))
            return
        else:  # pragma: no cover - a new Change type must be taught to the runner
            raise StepError(_("unknown change type {kind}").format(kind=type(change).__name__))
        self.emit(ChangeDone(step=step, description=change.describe(), exit_status=result.exit_status,
                              seconds=time.monotonic() - t0))
        if not ok:
            detail = "\n".join(tail[-8:]).strip() or _("(no output)")
            full = await diskfull.explain(self.transport, [*tail, result.stderr, result.stdout])
            raise StepError(_("'{what}' failed with exit status {code}:\n{detail}").format(
                what=without_note(change.describe()), code=result.exit_status, detail=detail)
                + (f"\n{full}" if full else ""))


    async def _followed(self, step: str, job: Job, on_output: OutputCallback) -> Result:
        """A job that ran behind the steps: its output so far, then the rest as it comes, and its result."""
        result = await job.follow(on_output)
        if result is None:
            raise StepError(job.told("cut"))
        self.emit(Notice(step=step, level=NoticeLevel.NOTE, text=job.told("end")))
        return result


def _key(step: str, change: Change) -> tuple[str, str, str]:
    """A change as the operator saw it (its step, why and command): the same change when a later pass plans it again."""
    return step, change.why, change.describe()


def collect(events: list[Event]) -> Sink:
    """A sink that keeps events in a list (tests, summaries)."""
    return events.append
