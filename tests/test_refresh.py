"""Step.refresh (issue 22): a whole apply whose later steps changed packages reads once more, at its end, the
facts the steps before them keep a record of (os_updates' upgrade simulation), so the first re-apply finds the
record current. On a real shell, with the toy steps of test_behind: the refresh's command appends to the log
every command writes, so the order is read back, never timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from recipes.os_updates.facts import Upgradable
from recipes.os_updates.step import OsUpdates, OsUpdatesSettings
from tests.test_behind import RootSettings, installs, log, runner
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.step import Context, Step, StepSettings


@dataclass(frozen=True)
class Recorded(Fact):
    """A fact whose reading is logged: what a record kept on the server costs to refresh."""

    root: str
    kind = "recorded"

    def command(self) -> Command:
        return sh('echo refresh >> "$1/log"', self.root)

    def parse(self, out: str, status: int) -> str:
        return out


def recorder(name: str = "records", **kw: object) -> Step:
    """A step with nothing to change whose refresh is Recorded (os_updates' shape, in a toy)."""
    base = type(installs(name, ("base",), early=False, **kw))

    class Records(base):  # type: ignore[misc, valid-type]
        def refresh(self, settings: StepSettings, ctx: Context) -> Iterable[Fact]:
            assert isinstance(settings, RootSettings)
            return [Recorded(settings.root)]

    Records.name = name
    return Records()


def test_an_apply_refreshes_the_record_once_after_the_last_package_command_of_a_later_step(tmp_path: Path) -> None:
    steps = [recorder(), installs("python", ("python3",), early=False), installs("web", ("nginx",), early=False)]
    assert asyncio.run(runner(tmp_path, [], steps).apply()).ok
    lines = log(tmp_path)
    assert lines.count("refresh") == 1 and lines[-1] == "refresh" and lines.index("end nginx") < len(lines) - 1


def test_no_refresh_when_no_later_step_ran_a_package_command(tmp_path: Path) -> None:
    """The record step's own install is its last change: its own last pass recorded already. A re-apply installs
    nothing, so it reads nothing more either."""
    steps = [installs("python", ("python3",), early=False), recorder()]
    assert asyncio.run(runner(tmp_path, [], steps).apply()).ok
    assert "refresh" not in log(tmp_path)
    steps = [recorder("again"), installs("web", ("nginx",), early=False)]
    assert asyncio.run(runner(tmp_path, [], steps).apply()).ok  # installs nginx after it: refreshed once
    assert log(tmp_path).count("refresh") == 1
    assert asyncio.run(runner(tmp_path, [], steps).apply()).changes == 0
    assert log(tmp_path).count("refresh") == 1


def test_a_run_that_fails_does_not_refresh(tmp_path: Path) -> None:
    (tmp_path / "fail.nginx").touch()
    steps = [recorder(), installs("python", ("python3",), early=False), installs("web", ("nginx",), early=False)]
    assert not asyncio.run(runner(tmp_path, [], steps).apply()).ok
    assert "refresh" not in log(tmp_path)


def test_os_updates_refreshes_its_upgrade_record_unless_it_upgrades_nothing() -> None:
    step, ctx = OsUpdates(), Context()
    assert list(step.refresh(OsUpdatesSettings(upgrade="full-upgrade"), ctx)) == [Upgradable("dist-upgrade")]
    refreshed = list(step.refresh(OsUpdatesSettings(upgrade="upgrade"), ctx))
    assert refreshed == [Upgradable("upgrade")] and all(fact.record for fact in refreshed)  # type: ignore[attr-defined]
    assert list(step.refresh(OsUpdatesSettings(upgrade="none"), ctx)) == []


def test_the_refresh_runs_beside_the_last_steps_own_work_once_no_package_command_is_left(tmp_path: Path) -> None:
    """The last step's install ran behind the steps before it (the monitoring step's shape), so its own plan has
    no package command left: its configure waits for the refresh's line in the log, which only a refresh started
    beside it can write in time (at the run's end would be after it, 5 s in vain). The run's end then reads
    nothing more."""
    steps = [recorder(), installs("python", ("python3",), early=False),
             installs("web", ("nginx",), then=True, conf_after="refresh")]
    assert asyncio.run(runner(tmp_path, [], steps).apply()).ok
    lines = log(tmp_path)
    assert lines.index("end nginx") < lines.index("refresh") < lines.index("conf web"), lines
    assert lines.count("refresh") == 1


def test_a_refresh_that_cannot_read_warns_and_the_run_stays_ok(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Every step is done when the refresh reads: a lost connection there costs the next run a simulation, not
    this run its result."""
    from wizard.engine.events import Notice, NoticeLevel
    from wizard.engine.facts import FactGatherer
    from wizard.engine.transports.base import TransportError

    steps = [recorder(), installs("python", ("python3",), early=False)]
    events: list = []
    gather = FactGatherer.gather

    async def broken(self, facts, by=None):  # noqa: ANN001, ANN202
        facts = list(facts)
        if any(isinstance(fact, Recorded) for fact in facts):
            raise TransportError("connection lost")
        return await gather(self, facts, by)

    monkeypatch.setattr(FactGatherer, "gather", broken)
    assert asyncio.run(runner(tmp_path, events, steps).apply()).ok
    assert any(isinstance(e, Notice) and e.level is NoticeLevel.WARNING and "connection lost" in e.text
               for e in events)
