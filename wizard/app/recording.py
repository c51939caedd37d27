"""Record a real first apply, for the shell, cloud-init and Ansible exports.

Why record instead of simulating: a step's plan depends on facts that only a server knows (the commit a
branch names, whether the repository has requirements.txt, how many CPUs there are), so the exact changes a
fresh server needs are only known by applying the recipe to one. The recording is taken on a throwaway server
(a sandbox, or any fresh host the operator names) and keeps every change with its guard.

The guards are tested while recording: once a step has finished, every guard of the step must say "done", or
the recording fails (a replay would repeat that change forever). A guard that already says "done" before its
change runs is noted (a change planned from facts read before an earlier change of the same pass).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from wizard.app.recipefile import Recipe
from wizard.app.session import Questions, make_transport, run_recipe
from wizard.engine.commands import Masker, sh
from wizard.engine.errors import DeployWizardError
from wizard.engine.events import Sink
from wizard.engine.i18n import _
from wizard.engine.step import Change, PutFile
from wizard.engine.transports.base import Transport


class RecordingError(DeployWizardError):
    """The recording run failed or a guard lied; the message says which change."""


@dataclass
class RecordedStep:
    name: str
    title: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class Recording:
    recipe: Recipe
    host: str
    steps: list[RecordedStep]
    notes: list[str] = field(default_factory=list)  # what the guard checks noticed, for the operator
    system: str = ""  # the recorded server's PRETTY_NAME: a replay needs a fresh server of that same release

    def changes(self) -> list[Change]:
        return [change for step in self.steps for change in step.changes]


class _GuardChecker:
    """The before-change hook of the recording run: keeps each change and tests its guard on the server."""

    def __init__(self, recipe: Recipe) -> None:
        self.steps = [RecordedStep(step.name, step.title) for step, _settings in recipe.selected()]
        self.by_name = {step.name: step for step in self.steps}
        self.transport: Transport | None = None
        self.current: RecordedStep | None = None
        self.notes: list[str] = []

    async def guard_holds(self, change: Change) -> bool:
        assert self.transport is not None and change.skip_if is not None
        return (await self.transport.run(change.skip_if, timeout=120)).ok

    async def before_change(self, step: str, change: Change) -> bool:
        if self.current is not None and self.current.name != step:
            await self.step_done(self.current)
        self.current = self.by_name[step]
        if change.skip_if is not None and not isinstance(change, PutFile) and await self.guard_holds(change):
            # Planned from facts read before an earlier change of the same pass (installing certbot starts its
            # timer): harmless here, and a replay skips it. A guard that never holds is the real danger; that
            # one fails the recording in step_done.
            self.notes.append(_("{step}: '{what}' was already in place when it ran; replays skip it").format(
                step=step, what=change.why))
        self.current.changes.append(change)
        return True

    async def step_done(self, step: RecordedStep) -> None:
        for change in step.changes:
            if change.skip_if is not None and not await self.guard_holds(change):
                raise RecordingError(_("{step}: the guard of '{what}' does not see it done after the step: "
                                       "{guard}").format(step=step.name, what=change.why,
                                                         guard=change.skip_if.masked()))


async def record(recipe: Recipe, host: str, sink: Sink, questions: Questions) -> Recording:
    """Apply the recipe to `host` (which must be fresh and disposable) and keep what was done."""
    checker = _GuardChecker(recipe)

    def connect() -> Transport:
        checker.transport = make_transport(recipe, questions, Masker(), host)
        return checker.transport

    result = await run_recipe(recipe, "apply", sink, questions, host=host, journal=False,
                              before_change=checker.before_change, transport_factory=connect)
    if not result.ok:
        raise RecordingError(_("the recording apply on {host} failed at {step}: {why}").format(
            host=host, step=result.failed_step, why=result.error))
    if result.changes == 0:
        raise RecordingError(_("{host} needed no changes: record on a fresh server, not on one already set "
                               "up").format(host=host))
    # the last step's guards and the server's release, over a new connection (the run closed its own)
    transport = connect()
    try:
        await transport.connect()
        if checker.current is not None:
            await checker.step_done(checker.current)
        system = (await transport.run(sh('. /etc/os-release && echo "$PRETTY_NAME"'), timeout=30)).stdout.strip()
    finally:
        await transport.close()
    return Recording(recipe, host, guard_overwritten_files(checker.steps), checker.notes, system)


def guard_overwritten_files(steps: list[RecordedStep]) -> list[RecordedStep]:
    """A file written again by a later step (the nginx site, HTTP first, HTTPS once there is a certificate) is
    an intermediate state a fresh server needs; a replay on a finished server must not write it back. So the
    earlier writes get a guard: the final content is already there (for secret files: the file exists, as a
    hash of secret content would be a clue to the secret)."""
    final: dict[str, PutFile] = {}
    for change in (c for step in steps for c in step.changes):
        if isinstance(change, PutFile):
            final[change.path] = change
    for step in steps:
        for index, change in enumerate(step.changes):
            if isinstance(change, PutFile) and final[change.path] is not change:
                last = final[change.path]
                guard = (sh('[ -f "$1" ]', change.path) if last.secret else sh(
                    '[ "$(sha256sum < "$1" | cut -d" " -f1)" = "$2" ]', change.path,
                    hashlib.sha256(last.content).hexdigest()))
                step.changes[index] = replace(change, skip_if=guard)
    return steps
