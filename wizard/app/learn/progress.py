"""A learner's progress through `deploy-wizard learn`: one small JSON file per learner, resumable.

Why a file of its own in the state directory (beside the journals and drafts): a course takes hours over several
days; closing the terminal, a crash or a reboot of the laptop must lose nothing, so every change is written at
once, atomically (a half-written file would lose the whole course). The trainer gets the summary
(wizard/app/learn/report.py), not this file.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.fsutil import atomic_write_text, private_dir, read_text_file
from wizard.engine.i18n import _
from wizard.engine.sinks import state_dir

VERSION = 1
LEARNER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class StepState(StrEnum):
    OPEN = "open"  # not passed yet
    BY_HAND = "by hand"  # "Check my work" passed with no help from the tool
    WITH_TOOL = "with the tool"  # the learner began, the tool did the rest
    BY_TOOL = "by the tool"  # the tool did it all (the learner skipped it)


class DrillState(StrEnum):
    BROKEN = "broken"
    FIXED = "fixed"


@dataclass
class StepRecord:
    state: StepState = StepState.OPEN
    hints: int = 0  # how many hints were shown (the highest level asked)
    checks: int = 0  # how many times "Check my work" ran
    started: float = 0.0
    finished: float = 0.0


@dataclass
class DrillRecord:
    state: DrillState = DrillState.BROKEN
    broken: float = 0.0
    fixed: float = 0.0
    checks: int = 0


@dataclass
class Progress:
    learner: str
    recipe: str  # the course recipe file
    host: str
    sandbox: str | None = None  # the practice sandbox's name, None on a server of the learner's own
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    current: str = ""  # the step being worked on
    steps: dict[str, StepRecord] = field(default_factory=dict)
    drills: dict[str, DrillRecord] = field(default_factory=dict)
    drill: str = ""  # the drill broken and not fixed yet

    def step(self, name: str) -> StepRecord:
        record = self.steps.setdefault(name, StepRecord())
        if not record.started:
            record.started = time.time()
        return record

    def go_to(self, name: str | None) -> None:
        if name is not None:
            self.current = name
            self.step(name)

    def checked(self, name: str, passed: bool, following: str | None) -> None:
        """"Check my work" ran on step `name`: counted; passed, it is done by hand and the course moves on."""
        record = self.step(name)
        record.checks += 1
        if passed and record.state is StepState.OPEN:
            record.state, record.finished = StepState.BY_HAND, time.time()
            self.go_to(following)

    def finished_by_tool(self, name: str, following: str | None) -> None:
        """The tool did the rest of step `name`: begun by hand when the learner had checked it or asked for a hint
        (what is on the server says nothing about who put it there: a fresh server may already match parts)."""
        record = self.step(name)
        if record.state is StepState.OPEN:
            record.state = StepState.WITH_TOOL if record.checks or record.hints else StepState.BY_TOOL
            record.finished = time.time()
        self.go_to(following)

    def hinted(self, name: str, level: int) -> None:
        record = self.step(name)
        record.hints = max(record.hints, level)

    def broke(self, drill: str) -> None:
        self.drill = drill
        self.drills[drill] = DrillRecord(DrillState.BROKEN, broken=time.time())

    def drill_checked(self, passed: bool) -> None:
        record = self.drills[self.drill]
        record.checks += 1
        if passed:
            record.state, record.fixed = DrillState.FIXED, time.time()
            self.drill = ""


class LearnError(DeployWizardError):
    exit_code = ExitCode.BAD_INPUT


def learner_name(value: str) -> str:
    if not LEARNER_RE.match(value):
        raise LearnError(_("--learner: {value!r} is not a learner name: 1-32 of a-z, 0-9, '-' and '_', starting "
                           "with a letter").format(value=value))
    return value


def learn_dir() -> Path:
    """~/.local/state/deploy-wizard/learn (0700): progress files, course recipes, practice passwords."""
    return private_dir(state_dir() / "learn", state_dir())


def path_of(learner: str) -> Path:
    return learn_dir() / f"{learner_name(learner)}.json"


def save(progress: Progress) -> Path:
    progress.updated = time.time()
    path = path_of(progress.learner)
    atomic_write_text(path, json.dumps(asdict(progress), indent=2, ensure_ascii=False) + "\n", 0o600)
    return path


def load(learner: str) -> Progress | None:
    """The learner's saved progress, None when there is none; a damaged file is said, never a traceback."""
    path = path_of(learner)
    if not path.exists():
        return None
    try:
        data = json.loads(read_text_file(path))
        steps = {name: StepRecord(**{**record, "state": StepState(record["state"])})
                 for name, record in data.pop("steps").items()}
        drills = {name: DrillRecord(**{**record, "state": DrillState(record["state"])})
                  for name, record in data.pop("drills").items()}
        return Progress(**data, steps=steps, drills=drills)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LearnError(_("{path} is not a progress file deploy-wizard can read ({why}); move it away to start "
                           "again").format(path=path, why=exc)) from None


__all__ = ["DrillRecord", "DrillState", "LearnError", "Progress", "StepRecord", "StepState", "learn_dir",
           "learner_name", "load", "path_of", "save"]
