"""Events the runner emits; the TUI, the console, the JSON stream and the journal are all just sinks.

Why events and not prints: one run must drive a live screen, a plain log for CI, a machine-readable stream
and a crash-proof journal at once, and every one of them must see the same masked text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar


@dataclass
class Event:
    kind: ClassVar[str] = "event"
    ts: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The event as the JSON stream and the journal write it. Why not always asdict: it deep-copies every
        value, which made it most of the cost of a line of output (100,000 lines of apt or a build log go
        through here, on the loop that also answers the operator's keys); flat events need no copy."""
        values = {name: getattr(self, name) for name in _field_names(type(self))}
        if all(isinstance(value, _FLAT) for value in values.values()):
            return {"event": self.kind, **values}
        return {"event": self.kind, **asdict(self)}


_FLAT = (str, int, float, type(None))  # bool is an int; a StrEnum is a str


@cache
def _field_names(cls: type[Event]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


class RunMode(StrEnum):
    PLAN = "plan"  # a dry run: facts only
    APPLY = "apply"
    CHECK = "check"  # a dry run read as drift


class StepStatus(StrEnum):
    CHANGED = "changed"
    OK = "ok"  # nothing to do
    FAILED = "failed"
    PLANNED = "planned"  # a dry run found changes to make
    STOPPED = "stopped"  # the operator stopped the run before one of its changes (step-through)


class RunEnd(StrEnum):
    """How a run ended, as its last journal record says: a journal without one is a run that was cut off (the
    laptop or the connection died), which `--resume` must tell from a run that ended early but on record."""

    DONE = "done"  # it went through every step (a failure the operator chose to skip included)
    FAILED = "failed"  # it stopped at a failed step
    STOPPED = "stopped"  # the operator stopped it before a change (step-through)
    CANCELLED = "cancelled"  # Ctrl-C, or the front end cancelled it, in the middle of a step
    ERROR = "error"  # something that is not a step's failure ended it (a secret, the deploy lock, a host key)


@dataclass
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    host: str
    mode: RunMode
    steps: list[str]


@dataclass
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step: str
    index: int
    total: int


@dataclass
class StepPlanned(Event):
    kind: ClassVar[str] = "step_planned"
    step: str
    changes: list[dict[str, Any]]
    notes: list[str]
    later: list[dict[str, Any]] = field(default_factory=list)  # decided at run time (a dry run)
    warnings: list[dict[str, str]] = field(default_factory=list)  # found, to be fixed by the operator


@dataclass
class ChangeStarted(Event):
    kind: ClassVar[str] = "change_started"
    step: str
    why: str
    description: str
    check: bool = False  # a step's verify() check after its changes, not a change


@dataclass
class OutputLine(Event):
    kind: ClassVar[str] = "output"
    step: str
    stream: str
    text: str


@dataclass
class ChangeDone(Event):
    kind: ClassVar[str] = "change_done"
    step: str
    description: str
    exit_status: int
    seconds: float = 0.0  # how long it ran, as this machine saw it (bench/first_apply.py adds them up by kind)


class NoticeLevel(StrEnum):
    """What a notice is, and so how it is marked: `!` is for a warning only (something the operator should act on
    or know went wrong); a note (a secret read from where, progress, a change left out on request) gets `·`."""

    WARNING = "warning"
    NOTE = "note"


@dataclass
class Notice(Event):
    kind: ClassVar[str] = "notice"
    step: str
    text: str
    level: NoticeLevel = NoticeLevel.WARNING


def notice_mark(level: NoticeLevel) -> str:
    """The mark every front end puts before a notice: one mark for one meaning."""
    return "!" if level is NoticeLevel.WARNING else "·"


@dataclass
class StepNoop(Event):
    kind: ClassVar[str] = "step_noop"
    step: str
    reason: str


@dataclass
class StepFailed(Event):
    kind: ClassVar[str] = "step_failed"
    step: str
    error: str


@dataclass
class StepFinished(Event):
    kind: ClassVar[str] = "step_finished"
    step: str
    status: StepStatus
    changes: int
    seconds: float
    round_trips: int  # command lines sent and waited for (SSH channels)
    later: int = 0
    commands: int = 0  # what ran in them: a gather of facts is one round trip and one command per fact


@dataclass
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    ok: bool
    changes: int
    changed_steps: list[str]
    seconds: float
    round_trips: int
    journal: str | None = None
    commands: int = 0  # as in StepFinished
    later: int = 0
    failed_step: str | None = None
    end: RunEnd = RunEnd.DONE


@dataclass(frozen=True)
class Resume:
    """The newest apply of a recipe on a host that did not finish well, from its journal: what `--resume` goes on
    from. `end` is None when the journal has no last record (the run was cut off), else how it ended early."""

    journal: str
    done: frozenset[str]  # the steps it completed (ok or changed): not run again
    end: RunEnd | None = None
    failed_step: str | None = None


Sink = Callable[[Event], None]


def fan_out(*sinks: Sink | None) -> Sink:
    active = [s for s in sinks if s is not None]

    def emit(event: Event) -> None:
        for sink in active:
            sink(event)

    return emit
