"""What a run gives back: the plan of each step, the result of the whole run, and an apply's progress so far.

Why apart from the runner: front ends (the summary screen, the CLI's exit code, the fleet's table) read these
without needing the machinery that produces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.engine.events import RunEnd
from wizard.engine.i18n import _, clauses
from wizard.engine.step import Change, Later, PutFile, Warn


@dataclass
class StepPlan:
    step: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    later: list[Later] = field(default_factory=list)  # decided only once an earlier change ran
    warnings: list[Warn] = field(default_factory=list)

    @property
    def noop(self) -> bool:
        return not self.changes

    def reason(self) -> str:
        return clauses(self.notes) or _("nothing to do")

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "changes": [change_dict(c) for c in self.changes], "notes": self.notes,
                "later": [change_dict(c) for c in self.later],
                "warnings": [{"text": w.text, "fix": w.fix} for w in self.warnings]}


def change_dict(change: Change) -> dict[str, object]:
    data: dict[str, object] = {"why": change.why, "do": change.describe()}
    if isinstance(change, PutFile):
        data["diff"] = change.diff()
    return data


@dataclass
class RunResult:
    ok: bool
    changes: int
    changed_steps: list[str]
    failed_step: str | None
    error: str | None
    seconds: float
    round_trips: int
    commands: int = 0  # what ran in those round trips: one per fact asked, one per change
    plans: list[StepPlan] = field(default_factory=list)
    later: int = 0  # changes a dry run left to be decided at run time
    journal: str | None = None
    skipped: list[str] = field(default_factory=list)  # failed steps the operator chose to skip
    declined: list[str] = field(default_factory=list)  # step-through: changes the operator left out, one by one
    stopped: str | None = None  # step-through: the change the operator stopped the run before
    end: RunEnd = RunEnd.DONE


@dataclass
class Progress:
    """What an apply has done so far: the makings of its result, however it ends."""

    total: int = 0
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # failed steps the operator chose to skip
    error: str | None = None
    failed: str | None = None
    stopped: str | None = None
    end: RunEnd = RunEnd.DONE
    open: str | None = None  # the step started and not finished yet
