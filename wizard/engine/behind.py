"""Package installs (and the settings files they need first) that run behind the steps: started once the first
installing step is done, in step order, while the steps before theirs run; each step takes its own before it
plans.

Why: a first apply spends most of its time in dpkg, and most of the rest (facts, the venv and pip, git, systemd,
files) needs only some of the packages. Installing everything first and then doing the rest one thing at a time
leaves the server's second core and the network idle for half the run. Behind the steps, PostgreSQL unpacks
while the venv is built and the code is fetched; nginx and certbot while the database is set up.

What keeps it safe and convergent:
- Only what a step marks `early` runs behind (RunCommand.early): installs of which nothing they start is
  reachable from outside before their step configures it, and the settings files that make it so (an
  exporter's address, written before its package starts it: recipes/monitoring/exporters.settled_first).
  They run one at a time, on their own channel, in the order of their steps: a step waits only for its own
  (and so for those before it).
- Every other package command (apt's lock wait marks them: PACKAGE_LOCK_ENV) waits until the queue is empty,
  so two never race for the dpkg lock and apt's own wait is never what orders them.
- A step shows its install in its own place, as if it had run it: the same command, its output, its time, and
  a note that it ran behind. A failed install is that step's failure, with apt's output. An install that never
  ran (the queue stopped at an earlier failure, or at the end of the run) is planned again by its step.
- A kill or a dropped connection leaves dpkg's journal, which the next install finishes first
  (recipes/shared/apt.py FINISH_INTERRUPTED); a step whose install never completed plans it again.
- A run that ends early (a failure, a stop) waits for the install in progress instead of cutting dpkg off;
  Ctrl-C cancels it, as it cancels any command. While the operator is asked about a failed step, no other
  install starts: dpkg's lock is theirs for a fix by hand.

Downloads ahead (RunCommand.fetch): an install spends part of its time fetching its packages, and dpkg's lock
is not needed for that. So each queued install's download runs ahead of it on a third channel, one at a time
and in the same order, while the install before it unpacks: PostgreSQL's packages arrive while python3's
install runs, and its own install then fetches nothing. An install starts once its download ended; a download
that failed or was cut only costs its time, since the install fetches whatever is missing itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from wizard.engine.commands import without_note
from wizard.engine.events import NoticeLevel
from wizard.engine.facts import FactGatherer
from wizard.engine.i18n import _
from wizard.engine.step import Change, Context, Later, RunCommand, Step, StepSettings
from wizard.engine.transports.base import OutputCallback, Result, Transport, TransportError

Moment = Literal["start", "end", "cut", "unrun", "failed"]  # when a job running behind is spoken of

# The variable every package-manager command carries (its dpkg lock timeout): how the runner knows one.
PACKAGE_LOCK_ENV = "DW_LOCK_TIMEOUT"


def uses_packages(change: object) -> bool:
    """Whether a change runs apt or dpkg (and so must not race the installs running behind)."""
    return isinstance(change, RunCommand) and any(name == PACKAGE_LOCK_ENV for name, _value in change.command.env)


@dataclass
class Job:
    """One install running behind: its output is kept until its step shows it, then passed on as it comes."""

    step: str
    change: RunCommand
    lines: list[tuple[str, str]] = field(default_factory=list)
    listener: OutputCallback | None = None
    started: float | None = None
    seconds: float = 0.0
    taken: bool = False  # its step showed it
    result: Result | None = None  # None: never ran (its step installs it itself)
    error: TransportError | None = None  # the connection failed, or something else broke the job
    begun: asyncio.Event = field(default_factory=asyncio.Event)  # it started, or it never will
    done: asyncio.Event = field(default_factory=asyncio.Event)
    fetching: bool = False  # its download ahead (change.fetch) started
    fetched: asyncio.Event = field(default_factory=asyncio.Event)  # its download ahead ended, or never will run
    fetch: tuple[float, str] | None = None  # (seconds, "" or why it failed) of the download ahead that ran

    def output(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        if self.listener is not None:
            self.listener(stream, text)

    def told(self, moment: Moment) -> str:
        """What is said of it at each moment: an install, or the settings file one needs first (never called an
        install: recipes/monitoring/exporters.settled_first)."""
        what, seconds = without_note(self.change.describe()), self.seconds
        texts = {
            "start": (_("installing in the background for the {step} step: {what}"),
                      _("preparing in the background for the {step} step: {what}")),
            "end": (_("installed in the background while the earlier steps ran ({seconds:.1f} s): {what}"),
                    _("done in the background, before the install it prepares ({seconds:.1f} s): {what}")),
            "cut": (_("the install running in the background was cut off: {what}"),
                    _("the work running in the background was cut off: {what}")),
            "unrun": (_("installed in the background for the {step} step, which did not run: {what}"),
                      _("done in the background for the {step} step, which did not run: {what}")),
            "failed": (_("the install in the background for the {step} step failed: {what}"),
                       _("the work in the background for the {step} step failed: {what}")),
        }[moment]
        told = texts[0 if uses_packages(self.change) else 1].format(step=self.step, what=what, seconds=seconds)
        if moment != "end" or self.fetch is None or self.change.fetch is None:
            return told
        fetch = self.change.fetch.summary()  # with its note: how it runs beside another install
        if self.fetch[1]:
            return told + "\n" + _("downloading its packages in advance failed ({why}), so the install downloaded "
                                   "them itself; tried: {what}").format(why=self.fetch[1], what=fetch)
        return told + "\n" + _("its packages were downloaded in advance, during the previous install "
                               "({seconds:.1f} s): {what}").format(seconds=self.fetch[0], what=fetch)

    async def follow(self, on_output: OutputCallback) -> Result | None:
        """Its output so far, then the rest as it comes; the result once it ended (None: it never ran)."""
        for stream, text in self.lines:
            on_output(stream, text)
        self.listener = on_output
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


async def early_installs(rest: Sequence[tuple[Step, StepSettings]], facts: FactGatherer, ctx: Context,
                         rounds: int) -> AsyncIterator[tuple[str, list[Job]]]:
    """Each step in `rest` with the installs it will plan first and allows early (RunCommand.early), planned from
    the facts the steps before it will leave (a fork of the cache: the real one stays as read). A step that
    cannot plan yet has none: its own turn plans it and says why."""
    fork = facts.fork()
    for step, settings in rest:
        try:
            changes = await _first_pass(step, settings, fork, ctx, rounds)
        except Exception:  # noqa: BLE001 - looking ahead only saves time: its own turn plans it and says why not
            changes = []
        yield step.name, [Job(step.name, change) for change in changes
                          if isinstance(change, RunCommand) and change.early]
        fork.expect(leaf for change in changes for leaf in change.leaves)


async def _first_pass(step: Step, settings: StepSettings, facts: FactGatherer, ctx: Context,
                      rounds: int) -> list[Change]:
    """The step's first plan, from `facts` (asked in as many rounds as its facts depend on each other)."""
    known = facts.cache
    for _round in range(rounds):
        wanted = [fact for fact in step.facts(settings, known, ctx) if fact not in known]
        if not wanted:
            break
        known = await facts.gather(wanted, by=step.name)
    return [item for item in step.plan(settings, known, ctx) if isinstance(item, Change)
            and not isinstance(item, Later)]


class Behind:
    """The queue of installs running behind the steps on one connection."""

    def __init__(self, transport: Transport, env: Callable[[], tuple[tuple[str, str], ...]]) -> None:
        self.transport = transport
        self.env = env  # the variables every change carries (the deploy lock's run tag), read when a job starts
        self.jobs: list[Job] = []
        self.task: asyncio.Task[None] | None = None
        self.started = False  # the queue started once in this run (it does not start again)
        self.failed = False
        self.stopping = False  # the run ends: only the install in progress finishes
        self.finder: asyncio.Task[None] | None = None
        self.fetcher: asyncio.Task[None] | None = None  # the downloads ahead (the module's docstring)
        self.looked: dict[str, asyncio.Event] = {}  # per step: its early installs are queued (or it has none)
        self.going = asyncio.Event()  # cleared while the operator decides about a failed step (pause)
        self.going.set()

    def look(self, rest: Sequence[tuple[Step, StepSettings]], facts: FactGatherer, ctx: Context, rounds: int,
             on_start: Callable[[Job], None]) -> None:
        """Find the early installs of the steps in `rest` and queue each as soon as it is found, while the steps
        go on: the look ahead reads on its own channel, and a step waits for it only to take its own."""
        self.started = True
        self.looked = {step.name: asyncio.Event() for step, _settings in rest}
        self.finder = asyncio.ensure_future(self._find(rest, facts, ctx, rounds, on_start))

    async def _find(self, rest: Sequence[tuple[Step, StepSettings]], facts: FactGatherer, ctx: Context, rounds: int,
                    on_start: Callable[[Job], None]) -> None:
        try:
            async for step, jobs in early_installs(rest, facts, ctx, rounds):
                for job in jobs:
                    self.add(job, on_start)
                self.looked[step].set()
        finally:
            for seen in self.looked.values():
                seen.set()

    def add(self, job: Job, on_start: Callable[[Job], None]) -> None:
        """Queue a job; it starts when the ones before it ended."""
        self.jobs.append(job)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run(on_start))
        if job.change.fetch is not None and (self.fetcher is None or self.fetcher.done()):
            self.fetcher = asyncio.ensure_future(self._fetch_each())

    async def _fetch_each(self) -> None:
        """Each queued job's download ahead, one at a time, in order; never one whose install already began (the
        job is picked after any pause, with nothing awaited between the pick and its start)."""
        try:
            while True:
                await self.going.wait()
                job = next((job for job in self.jobs if job.change.fetch is not None and not job.fetching
                            and not job.begun.is_set()), None)
                if job is None or job.change.fetch is None or self.failed or self.stopping:
                    return
                job.fetching, started = True, time.monotonic()
                command = replace(job.change.fetch, env=(*job.change.fetch.env, *self.env()))
                try:
                    result = await self.transport.run(command, timeout=job.change.timeout)
                    said = (result.stderr.strip().splitlines() or [""])[-1]  # apt's "E: ..." line
                    why = "" if result.ok else said or _("exit status {code}").format(code=result.exit_status)
                except Exception as exc:  # noqa: BLE001 - only time is lost: the install fetches what is missing
                    why = str(exc) or type(exc).__name__
                job.fetch = (time.monotonic() - started, why)
                job.fetched.set()
        finally:  # ended, cut or broken: no install waits for a download that will not come
            for job in self.jobs:
                job.fetched.set()

    async def _run(self, on_start: Callable[[Job], None]) -> None:
        try:
            await self._each(on_start)
        finally:  # cancelled or broken: whoever waits for a job must not wait forever
            for job in self.jobs:
                job.begun.set()
                job.done.set()

    async def _each(self, on_start: Callable[[Job], None]) -> None:
        """One job at a time, in order, including jobs added while it runs; after a failure the rest are left to
        their own steps, which install in their turn and say why that fails."""
        while (job := next((job for job in self.jobs if not job.begun.is_set()), None)) is not None:
            await self.going.wait()
            if self.failed or self.stopping:
                job.begun.set()
                job.done.set()
                continue
            if job.fetching and not job.fetched.is_set():
                await job.fetched.wait()  # its packages are on their way: fetching them again would race
                continue  # and the queue may have been paused or stopped meanwhile: asked again
            job.started = time.monotonic()
            job.begun.set()
            on_start(job)
            command = replace(job.change.command, env=(*job.change.command.env, *self.env()))
            try:
                job.result = await self.transport.run(command, on_output=job.output, timeout=job.change.timeout)
                self.failed = job.result.exit_status not in job.change.ok_codes
            except TransportError as exc:
                job.error, self.failed = exc, True
            except Exception as exc:  # noqa: BLE001 - said in its step's place, never in another step's command
                job.error, self.failed = TransportError(str(exc) or type(exc).__name__), True
            finally:
                job.seconds = time.monotonic() - job.started
                job.done.set()

    async def take(self, step: str | None = None) -> list[Job]:
        """The step's jobs (every job, with None) that no step showed yet, in order; they are shown now. A step
        the look ahead has not reached yet is waited for."""
        if step in self.looked:
            await self.looked[step].wait()
        mine = [job for job in self.jobs if not job.taken and step in (None, job.step)]
        for job in mine:
            job.taken = True
        return mine

    @property
    def untaken(self) -> bool:
        return any(not job.taken for job in self.jobs)

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    async def drain(self) -> None:
        """Wait until nothing runs behind and nothing more can be queued (before any other package command, and
        at the end of a run): the look ahead first, since it may still queue an install."""
        if self.finder is not None:
            await asyncio.wait([self.finder])
        while self.task is not None and not self.task.done():
            await asyncio.wait([self.task])
        if self.fetcher is not None:  # a download ahead reads apt's lists unlocked: no other apt runs beside it
            await asyncio.wait([self.fetcher])

    def pause(self) -> None:
        """A step failed and the operator is asked what to do: start no other install meanwhile (the one in
        progress ends), so dpkg's lock is free for whatever they run by hand before a retry."""
        self.going.clear()

    def resume(self) -> None:
        self.going.set()

    async def settle(self, tell: Callable[[NoticeLevel, str], None]) -> None:
        """A run that ends with installs still behind (a step failed or stopped before theirs): wait for the one
        running, so dpkg is not cut off, start no other, and say what was installed for steps that did not run."""
        self.stop_looking()
        if not self.untaken:
            return
        if self.busy:
            tell(NoticeLevel.NOTE, _("waiting for the install running in the background to finish"))
        await self.drain()
        for job in await self.take():
            if job.result is not None and job.result.exit_status in job.change.ok_codes:
                tell(NoticeLevel.NOTE, job.told("unrun"))
            elif job.started is not None:  # it failed: the next run's install in that step finishes or says why
                tail = "\n".join(text for _stream, text in job.lines[-8:])
                why = str(job.error) if job.error else tail or _("(no output)")
                tell(NoticeLevel.WARNING, f"{job.told('failed')}\n{why}")

    def stop_looking(self) -> None:
        """The run ends: nothing more is queued or started; the install in progress ends (unless cancelled)."""
        self.stopping = True
        self.going.set()  # a paused queue wakes up to leave its jobs to their steps
        for task in (self.finder, self.fetcher):
            if task is not None:
                task.cancel()

    async def cancel(self) -> None:
        """Ctrl-C: stop the look ahead and the install in progress, and wait until both have stopped."""
        self.stop_looking()
        tasks = [task for task in (self.finder, self.fetcher, self.task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["PACKAGE_LOCK_ENV", "Behind", "Job", "early_installs", "uses_packages"]
