"""A dry run of a whole recipe plans every step from what the earlier changes will leave (issue 14).

On a real shell (the local transport): the plan writes nothing, its changes are exactly the ones apply then
runs, a fact about software that is only planned is never asked, and what only a run can decide is listed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from tests.standins import RootSettings, StandIn, local_runner
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.events import ChangeStarted, Event, Notice, RunFinished, StepPlanned
from wizard.engine.facts import Fact, FactValues, PackagesInstalled, PathInfo
from wizard.engine.runner import Runner, RunResult
from wizard.engine.step import Change, Later, Ok, RunCommand, Step, Warn


def ensure_dir(path: str, facts: FactValues) -> Iterator[Change | Ok]:
    """What recipes.shared.common.ensure_dirs does: create a directory, and say the fact it leaves."""
    if facts[PathInfo(path)] is None:
        yield RunCommand(f"create {path}", cmd("mkdir", path),
                         leaves=((PathInfo(path), {"type": "directory", "mode": "755", "owner": "root",
                                                   "group": "root"}),))
    else:
        yield Ok(f"{path} exists")


class Layout(StandIn):
    """Two steps need the same directory; only the first creates it."""

    name = "layout"
    Settings = RootSettings

    def facts(self, s, known, ctx):
        return [PathInfo(s.root + "/app")]

    def plan(self, s, facts, ctx):
        yield from ensure_dir(s.root + "/app", facts)


class Tool(Fact):
    """A fact only an installed program can answer; running it here would leave a trace to prove it ran."""

    kind = "tool"

    def __init__(self, trace: str) -> None:
        self.trace = trace

    @property
    def key(self) -> str:
        return "tool"

    def command(self) -> Command:
        return sh('touch "$1"; exit 3', self.trace)

    def requires(self) -> tuple[str, ...]:
        return ("dw-test-tool",)

    def fresh(self) -> dict[str, bool]:
        return {"configured": False}

    def parse(self, out: str, status: int) -> dict[str, bool]:
        return {"configured": status == 0}


class Service(StandIn):
    """Like the database step: install the package, stop, and plan its configuration in the next pass."""

    name = "service"
    Settings = RootSettings

    def facts(self, s, known, ctx):
        yield PathInfo(s.root + "/app")
        package = PackagesInstalled(("dw-test-tool",))
        yield package
        if package in known and known[package]["dw-test-tool"]:
            yield Tool(s.root + "/tool-ran")

    def plan(self, s, facts, ctx):
        yield from ensure_dir(s.root + "/app", facts)
        if facts[PackagesInstalled(("dw-test-tool",))]["dw-test-tool"] is None:
            # stands in for apt: a file that makes the package look installed is not possible here, so the
            # change is one a dry run only plans
            yield RunCommand("install dw-test-tool", cmd("true"),
                             leaves=((PackagesInstalled(("dw-test-tool",)), {"dw-test-tool": "(planned)"}),))
            return
        if not facts[Tool(s.root + "/tool-ran")]["configured"]:
            yield RunCommand("configure dw-test-tool", cmd("true"))
        yield Later("load the app's data", "the data is read after the checkout")


def runner(tmp_path: Path, events: list[Event], *steps: Step) -> Runner:
    return asyncio.run(local_runner([(step, RootSettings(root=str(tmp_path))) for step in steps], events))


def plan(tmp_path: Path, *steps: Step) -> tuple[list[Event], RunResult]:
    events: list[Event] = []
    return events, asyncio.run(runner(tmp_path, events, *steps).plan())


def test_a_later_step_plans_from_what_an_earlier_one_leaves(tmp_path: Path) -> None:
    events, result = plan(tmp_path, Layout(), Service())
    planned = {e.step: [c["do"] for c in e.changes] for e in events if isinstance(e, StepPlanned)}
    assert planned["layout"] == [f"mkdir {tmp_path}/app"]
    assert f"mkdir {tmp_path}/app" not in planned["service"]  # the layout step makes it
    assert not (tmp_path / "app").exists()  # and the plan did not


def test_a_fact_about_planned_software_is_not_asked_and_reads_as_a_fresh_install(tmp_path: Path) -> None:
    events, result = plan(tmp_path, Layout(), Service())
    planned = {e.step: e for e in events if isinstance(e, StepPlanned)}
    # the second pass (after the planned install) is in the plan, from Tool.fresh()
    assert [c["do"] for c in planned["service"].changes] == ["true", "true"]
    assert [c["why"] for c in planned["service"].changes] == ["install dw-test-tool", "configure dw-test-tool"]
    assert not (tmp_path / "tool-ran").exists()


def test_what_only_a_run_can_decide_is_listed_with_its_reason_and_counted_apart(tmp_path: Path) -> None:
    events, result = plan(tmp_path, Layout(), Service())
    service = next(e for e in events if isinstance(e, StepPlanned) and e.step == "service")
    assert service.later == [{"why": "load the app's data", "do": "the data is read after the checkout"}]
    assert result.ok and result.changes == 3 and result.later == 1


def test_apply_runs_exactly_the_planned_changes_of_a_dry_run(tmp_path: Path) -> None:
    events, _result = plan(tmp_path, Layout())
    planned = [c["do"] for e in events if isinstance(e, StepPlanned) for c in e.changes]
    applied: list[Event] = []
    result = asyncio.run(runner(tmp_path, applied, Layout()).apply())
    assert result.ok
    assert [e.description for e in applied if isinstance(e, ChangeStarted)] == planned
    assert (tmp_path / "app").is_dir()


class Undecided(StandIn):
    name = "undecided"
    Settings = RootSettings

    def plan(self, s, facts, ctx):
        yield Later("something", "never decided")


def test_apply_refuses_a_step_that_never_decides(tmp_path: Path) -> None:
    events: list[Event] = []
    result = asyncio.run(runner(tmp_path, events, Undecided()).apply())
    assert not result.ok and "cannot decide: something (never decided)" in (result.error or "")


def test_packages_planned_one_by_one_answer_a_question_about_several() -> None:
    fact = PackagesInstalled(("git", "nginx"))
    planned = {PackagesInstalled(("nginx",)).key: {"nginx": "(planned)"}}
    assert fact.after({"git": "1:2.39", "nginx": None}, planned) == {"git": "1:2.39", "nginx": "(planned)"}


class WarnsThenFails(StandIn):
    """A step whose plan found something wrong (a Django setting) and whose change then fails because of it."""

    name = "warns"
    Settings = RootSettings

    def plan(self, s, facts, ctx):
        yield Warn("ALLOWED_HOSTS lacks shop.example.com", "read it from the env")
        yield RunCommand("try the release", cmd("false"))


def test_a_failure_repeats_what_the_plan_warned_about_where_the_operator_looks(tmp_path: Path) -> None:
    events: list[Event] = []
    result = asyncio.run(runner(tmp_path, events, WarnsThenFails()).apply())
    assert not result.ok and result.failed_step == "warns"
    assert (result.error or "").endswith("The plan warned about this step:\n  ! ALLOWED_HOSTS lacks shop.example.com")
    told = [e.text for e in events if isinstance(e, Notice)]
    assert told == ["ALLOWED_HOSTS lacks shop.example.com\nread it from the env"]  # said once, with the fix
    finished = next(e for e in events if isinstance(e, RunFinished))
    assert finished.failed_step == "warns"


def test_an_env_file_the_plan_writes_plans_the_restart_apply_will_make() -> None:
    """The code step writes app.env before the app server plans: a dry run must count the restart that apply
    makes once it finds the file newer than the service's start (a new DEBUG, a new database password)."""
    from recipes.app_server.facts import EnvAge
    from wizard.engine.step import file_leaves

    env, other = "/srv/shop/shared/env/app.env", "/srv/shop/shared/env/database.env"
    age = EnvAge("shop@r1.service", (env, other))
    running = {"started": 1000.0, "changed": 900.0, "packages": 800.0}
    assert age.after(running, {}) == running
    planned = {fact.key: state for fact, state in file_leaves(env, b"DEBUG=1\n")}
    later = age.after(running, planned)
    assert later["changed"] is not None and later["started"] is not None and later["changed"] > later["started"]
    assert later["packages"] == 800.0  # the venv's marks are not the env files
    stopped = {"started": None, "changed": 900.0, "packages": None}  # not running: its start reads the new file
    assert age.after(stopped, planned) == stopped
    # an install into the venv (the code step's marker) counts for the venv's marks, not for the env files
    marker = "/srv/shop/venv/.deploy-wizard-requirements"
    age = EnvAge("shop@r1.service", (env, other), ("/srv/shop/venv/pyvenv.cfg", marker))
    installed = age.after(running, {fact.key: state for fact, state in file_leaves(marker, b"hashes\n")})
    assert installed["changed"] == 900.0 and EnvAge.newer(installed, "packages") and not EnvAge.newer(installed)
