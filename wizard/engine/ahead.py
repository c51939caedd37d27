"""Reading ahead: the facts of many steps asked together, in one round trip per round instead of one per step.

Why it is safe: facts only read, and a plan is made from facts alone. What a step reads can change only when a
change runs; so a run asks every step's facts at once while nothing has run, and drops all of them the moment a
change runs (the runner calls `changed()`), so each later step is planned from facts read after it.

Why not after every change: a first apply changes nearly every step, and reading all the remaining steps after
each one would read most facts a dozen times. After a change only the next step's own facts are read (as a step
always did); once a step turns out to change nothing, the steps after it are read together again. A no-op
re-apply is therefore one gather for the whole recipe (more rounds only where a fact depends on another).
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.engine.facts import Fact, FactGatherer, FactValues
from wizard.engine.step import Change, Context, Later, PlanError, Step, StepSettings
from wizard.engine.transports.base import TransportError

MAX_FACT_ROUNDS = 4


async def read_ahead(facts: FactGatherer, steps: Sequence[tuple[Step, StepSettings]], ctx: Context, *,
                     until_change: bool = False) -> bool:
    """Gather the facts of all these steps into `facts`' cache, round by round (a fact that depends on another
    is asked in the next round, for all steps at once). A step whose facts() refuses (PlanError) is left to its
    own turn, and so is everything when a gather fails: the step that asked reports it then, as its own error,
    after the steps before it ran as they always did.

    `until_change` (an apply): no further round once the first step's plan is known to hold a change, since
    running it drops every fact read (`Ahead.changed`); a first apply reads the server once before it starts.
    Returns False when it stopped there (the later steps' facts are not all read)."""
    for _round in range(MAX_FACT_ROUNDS):
        if until_change and steps and _will_change(*steps[0], facts.cache, ctx):
            return False
        wanted: dict[str, Fact] = {}
        for step, settings in steps:
            try:
                asked = [fact for fact in step.facts(settings, facts.cache, ctx) if fact not in facts.cache]
            except PlanError:
                continue
            wanted.update((fact.key, fact) for fact in asked)
            for fact in asked:
                facts.origin.setdefault(fact.key, step.name)
        if not wanted:
            return True
        try:
            await facts.gather(wanted.values())
        except TransportError:
            facts.invalidate()
            return True  # each step's own turn reads, and reports what failed
    return True


def _will_change(step: Step, settings: StepSettings, known: FactValues, ctx: Context) -> bool:
    """Whether the step's plan from the facts read so far holds a change (False while it needs more of them)."""
    try:
        if any(fact not in known for fact in step.facts(settings, known, ctx)):
            return False
        return any(isinstance(item, Change) and not isinstance(item, Later) for item in step.plan(settings, known, ctx))
    except Exception:  # noqa: BLE001 - reading ahead only saves time: the step's own turn plans it and says why
        return False


class Ahead:
    """When an apply reads ahead, and when it must forget what it read (see the module's docstring)."""

    def __init__(self, facts: FactGatherer, ctx: Context) -> None:
        self.facts = facts
        self.ctx = ctx
        self.stale = True  # nothing read yet, or a change ran since: the cache must be dropped
        self.after_change = False  # the step before changed something: read only the next step's own facts
        self.read = False  # the facts of every step still to run are in the cache

    def changed(self) -> None:
        """A change ran (or a step failed, or the operator may have fixed something by hand): forget every fact."""
        self.stale = True

    async def before(self, rest: Sequence[tuple[Step, StepSettings]]) -> None:
        """Before a step plans: drop what may be out of date, and read ahead when the step before changed
        nothing. `rest`: this step and the ones after it that will run."""
        if self.stale:
            self.facts.invalidate()
            self.stale = self.read = False
            if self.after_change:
                return
        if not self.read:
            # stopped before a change: if that change does not run after all (declined, skipped), the next step
            # reads ahead again
            self.read = await read_ahead(self.facts, rest, self.ctx, until_change=True)

    def finished(self) -> None:
        """The step is done: whether it changed anything decides how the next one reads."""
        self.after_change = self.stale


__all__ = ["MAX_FACT_ROUNDS", "Ahead", "read_ahead"]
