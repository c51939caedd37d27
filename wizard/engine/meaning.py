"""Meaning-level checks: what must hold on the server for a step's purpose, however it was reached.

Why beside the plan and not inside it: a step's plan compares bytes and metadata (the rendered nginx site, the
exact `useradd` flags), which is right for converging a server and wrong for grading a person. A learner who
writes the site by hand with their own comments and order, or makes the account with `adduser`, did the job;
the plan still lists changes. A `Meaning` says what the job IS ("nginx sends / of demo.example.test to the app's
socket") as a test over the step's own facts, and which planned changes it makes a matter of taste: a change a
holding meaning covers is a difference from the recommended setup, not a missing piece. The grader
(wizard/app/learn) asks the step; there is no second, hand-written grader that could drift from the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.engine.facts import Fact, FactValues


def _everything(change: object) -> bool:
    return True


@dataclass(frozen=True)
class Meaning:
    """One thing that must hold, read from facts.

    `what` is already translated, in plain words, with the recipe's names ("the account demo exists and is not
    root"). `test` returns None when it holds, else why not, in words a learner can act on (also translated).
    `covers` picks the planned changes of the step that only make the server match the recommended setup once
    this holds (by default all of them); a change no holding meaning covers is still missing.
    """

    what: str
    facts: tuple[Fact, ...]
    test: Callable[[FactValues], str | None]
    covers: Callable[[object], bool] = field(default=_everything)

    def judge(self, facts: FactValues) -> str | None:
        """None when it holds; the reason otherwise (a fact the server could not answer counts as not holding)."""
        return self.test(facts)


def covering(*words: str) -> Callable[[object], bool]:
    """A `covers` for the planned changes that name one of these words in what they do (their command or the
    file they write, as `describe()` says it): how a step ties a meaning to its changes without listing them."""

    def covers(change: object) -> bool:
        describe = getattr(change, "describe", None)
        said = describe() if callable(describe) else ""
        return any(word in said for word in words)

    return covers


__all__ = ["Meaning", "covering"]
