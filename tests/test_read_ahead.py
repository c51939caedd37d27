"""Reading ahead (wizard.engine.ahead) on a real shell: a no-op apply reads every step's facts in one round trip,
and a step after a change is planned from facts read after that change, never from what was read before it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.standins import Needs, PathSettings, StandIn, Writes, named, run_steps
from wizard.engine.commands import cmd
from wizard.engine.events import Event, RunFinished, StepFinished
from wizard.engine.facts import FactGatherer, FileInfo, PackagesInstalled
from wizard.engine.runner import FailureDecision, RunResult
from wizard.engine.step import Ok, PlanError, RunCommand, Step
from wizard.engine.transports.local import LocalTransport


def apply(root: Path, steps: list[tuple[Step, str]], mode: str = "apply",
          on_failure=None) -> tuple[RunResult, list[Event], LocalTransport]:  # noqa: ANN001
    return asyncio.run(run_steps([(step, PathSettings(root=str(root), name=name)) for step, name in steps], mode,
                                 on_failure=on_failure))


def trips(events: list[Event]) -> dict[str, int]:
    return {e.step: e.round_trips for e in events if isinstance(e, StepFinished)}


def test_a_noop_apply_reads_every_steps_facts_in_one_round_trip(tmp_path: Path) -> None:
    steps = [(named(Writes, str(i)), f"f{i}") for i in range(4)]
    first, _, _ = apply(tmp_path, steps)
    assert first.ok and first.changes == 4
    again, events, transport = apply(tmp_path, steps)
    assert again.ok and again.changes == 0
    assert again.round_trips == transport.round_trips == 2  # the connection probe and one gather
    # the probe, and one command for the four steps' files (FileInfo.together: one script reads them all)
    assert again.commands == transport.commands == 2
    assert trips(events) == {"writes_0": 1, "writes_1": 0, "writes_2": 0, "writes_3": 0}
    finished = next(e for e in events if isinstance(e, RunFinished))
    assert (finished.round_trips, finished.commands) == (2, 2)


def test_a_step_after_a_change_is_planned_from_facts_read_after_it(tmp_path: Path) -> None:
    # read ahead, `needs` would see f absent; it must see what `writes` wrote
    result, _, _ = apply(tmp_path, [(Writes(), "f"), (Needs(), "f")])
    assert result.ok and result.changes == 1, result.error


def test_after_a_change_the_steps_that_change_nothing_are_read_ahead_again(tmp_path: Path) -> None:
    (tmp_path / "b").write_text("x\n")
    (tmp_path / "c").write_text("x\n")
    (tmp_path / "d").write_text("x\n")
    steps = [(Writes(), "a"), (named(Needs, "b"), "b"), (named(Needs, "c"), "c"), (named(Needs, "d"), "d")]
    result, events, _ = apply(tmp_path, steps)
    assert result.ok and result.changes == 1
    seen = trips(events)
    # b: its own facts after the change; then c and d together, once b changed nothing
    assert (seen["needs_b"], seen["needs_c"], seen["needs_d"]) == (1, 1, 0)


class Refuses(Needs):
    """Refuses to plan without root/name (as a step refuses a server it cannot work on): nothing ran."""

    name = "refuses"

    def plan(self, s, facts, ctx):
        if facts[FileInfo(f"{s.root}/{s.name}")] is None:
            raise PlanError(f"{s.name} is missing: make it, then retry")
        yield Ok(f"{s.name} is there")


def test_a_retry_reads_the_facts_again(tmp_path: Path) -> None:
    """The operator fixed the server by hand and chose retry: the step must see it, not the answer from before,
    although nothing ran in between."""
    asked: list[str] = []

    async def fix_it_then_retry(step: str, error: str) -> FailureDecision:
        asked.append(step)
        (tmp_path / "f").write_text("by hand\n")
        return "retry" if len(asked) == 1 else "abort"

    result, _, _ = apply(tmp_path, [(Refuses(), "f")], on_failure=fix_it_then_retry)
    assert asked == ["refuses"] and result.ok, result.error


class Installs(StandIn):
    """Plans to install a package (a dry run only plans it)."""

    name = "installs"
    Settings = PathSettings

    def facts(self, s, known, ctx):
        return [PackagesInstalled(("dw-never-installed",))]

    def plan(self, s, facts, ctx):
        if facts[PackagesInstalled(("dw-never-installed",))]["dw-never-installed"] is None:
            yield RunCommand("install it", cmd("true"), leaves=(
                (PackagesInstalled(("dw-never-installed",)), {"dw-never-installed": "(planned)"}),))


class Configured(FileInfo):
    """A fact only the package's program could answer: asked before the install was planned (read ahead), the
    server says absent; after it, it must read as right after the install."""

    kind = "configured"

    def requires(self) -> tuple[str, ...]:
        return ("dw-never-installed",)

    def fresh(self):  # noqa: ANN201
        return "fresh install"


class Uses(StandIn):
    name = "uses"
    Settings = PathSettings

    def facts(self, s, known, ctx):
        return [Configured(f"{s.root}/{s.name}")]

    def plan(self, s, facts, ctx):
        yield Ok(str(facts[Configured(f"{s.root}/{s.name}")]))


def test_a_dry_run_reads_all_steps_at_once_and_a_fact_of_planned_software_reads_as_fresh(tmp_path: Path) -> None:
    result, events, _ = apply(tmp_path, [(Installs(), "-"), (Uses(), "conf")], mode="plan")
    assert result.ok and result.round_trips == 2  # the probe and one gather for both steps
    assert result.plans[1].notes == ["fresh install"]


class Chained(Needs):
    """Asks `NAME.2` only once `NAME` was read (a fact that depends on another: a second round)."""

    name = "chained"

    def facts(self, s, known, ctx):
        first = FileInfo(f"{s.root}/{s.name}")
        return [first, *([FileInfo(f"{s.root}/{s.name}.2")] if first in known else [])]

    def plan(self, s, facts, ctx):
        yield Ok("read")


def test_reading_ahead_stops_once_the_first_step_will_change_and_goes_on_in_a_noop(tmp_path: Path,
                                                                                  monkeypatch) -> None:  # noqa: ANN001
    """A first apply's first step changes the server, which drops every fact read ahead: a second round for the
    later steps would only be read again after it. So the read ahead stops after the first round there; a no-op
    still reads every round ahead, before any step plans."""
    (tmp_path / "c").write_text("x\n")
    (tmp_path / "c.2").write_text("x\n")
    asked: list[str] = []
    original = FactGatherer._ask

    async def ask(self, facts, transport):  # noqa: ANN001, ANN202
        asked.extend(fact.key for fact in facts)
        return await original(self, facts, transport)

    monkeypatch.setattr(FactGatherer, "_ask", ask)
    steps = [(Writes(), "a"), (Chained(), "c")]
    first, _, _ = apply(tmp_path, steps)
    assert first.ok and first.changes == 1
    assert asked.count(f"file:{tmp_path}/c.2") == 1, asked  # in chained's own turn, after the change only
    asked.clear()
    again, events, _ = apply(tmp_path, steps)
    assert again.ok and again.changes == 0
    assert asked.count(f"file:{tmp_path}/c.2") == 1 and trips(events)["chained"] == 0, asked
