"""A step's health checks (Step.verify) run after it changed something and in `check`, never on a no-op apply
or a plan (wizard.engine.dryrun): on a real shell, with a service that is a file the test breaks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.standins import StandIn, run_steps
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.events import ChangeStarted, Event, Notice, StepFailed, StepFinished
from wizard.engine.facts import FileInfo
from wizard.engine.runner import RunResult
from wizard.engine.step import RunCommand, StepSettings, file_change


class ServiceSettings(StepSettings):
    root: str
    secret_check: bool = False


class Service(StandIn):
    """Its config file is what the plan compares; `healthy` is whether it works (a file the test removes)."""

    name = "service"
    Settings = ServiceSettings

    def facts(self, s, known, ctx):
        return [FileInfo(f"{s.root}/service.conf")]

    def plan(self, s, facts, ctx):
        path = f"{s.root}/service.conf"
        yield from file_change("configure the service", path, "on\n", facts[FileInfo(path)])
        if not facts[FileInfo(path)]:
            yield RunCommand("start it", cmd("touch", f"{s.root}/healthy"))

    def verify(self, s, ctx):
        checks = [RunCommand("the service answers", sh('[ -e "$1" ] || { echo "no answer"; exit 1; }',
                                                      f"{s.root}/healthy"))]
        if s.secret_check:
            checks.append(RunCommand("it takes the password", sh("cat >/dev/null", stdin=Secret("pw", "hunter2"))))
        return checks


def run(root: Path, mode: str, **settings: bool) -> tuple[RunResult, list[Event]]:
    result, events, _transport = asyncio.run(run_steps([(Service(), ServiceSettings(root=str(root), **settings))],
                                                       mode))
    return result, events


def checks(events: list[Event]) -> list[str]:
    return [e.why for e in events if isinstance(e, ChangeStarted) and e.check]


def test_the_health_check_runs_after_a_change_and_not_on_a_noop(tmp_path: Path) -> None:
    result, events = run(tmp_path, "apply")
    assert result.ok and result.changes == 2 and checks(events) == ["the service answers"]
    result, events = run(tmp_path, "apply")
    assert result.ok and result.changes == 0 and checks(events) == []
    _plan, events = run(tmp_path, "plan")
    assert checks(events) == []


def test_check_finds_a_service_in_place_that_does_not_work(tmp_path: Path) -> None:
    run(tmp_path, "apply")
    result, events = run(tmp_path, "check")
    assert result.ok and result.changes == 0 and checks(events) == ["the service answers"]
    (tmp_path / "healthy").unlink()  # the config is still in place: only the health check can tell
    result, events = run(tmp_path, "check")
    assert not result.ok and result.failed_step == "service" and result.changes == 0
    failed = [e.error for e in events if isinstance(e, StepFailed)]
    assert len(failed) == 1 and "no answer" in failed[0]
    assert [e.status for e in events if isinstance(e, StepFinished)] == ["failed"]


def test_check_does_not_ask_a_step_with_drift_whether_it_works(tmp_path: Path) -> None:
    result, events = run(tmp_path, "check")  # nothing applied: everything differs
    assert result.ok and result.changes == 2 and checks(events) == []


def test_check_never_sends_a_secret_to_check_and_says_so(tmp_path: Path) -> None:
    run(tmp_path, "apply")
    result, events = run(tmp_path, "check", secret_check=True)
    assert result.ok and checks(events) == ["the service answers"]
    told = [e.text for e in events if isinstance(e, Notice)]
    assert told == ["not checked here, because it sends a secret and a check never does: it takes the password"]
