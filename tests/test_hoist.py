"""Installs run ahead of their steps, in the first installing step's run (wizard.engine.hoist, issue 22).

The engine part on a real shell (the local transport), with toy "packages" that are files: the dry run and the
apply show and run the same merged change, later steps then plan no install of their own, a package its step
keeps to itself stays there, and packages that must not share a run (Recommends) get one run per kind. The apt
part: the command and the text an operator sees for a merged run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from recipes.shared.apt import install_missing
from wizard.engine.commands import sh, without_note
from wizard.engine.events import ChangeStarted, Event, StepNoop, StepPlanned
from wizard.engine.facts import PathInfo
from wizard.engine.hoist import Hoist, Parts, merge
from wizard.engine.i18n import set_language
from wizard.engine.runner import Runner
from wizard.engine.step import Change, Ok, PlanError, RunCommand, Step, StepSettings, Teaching
from wizard.engine.transports.local import LocalTransport


class RootSettings(StepSettings):
    root: str


def toy_install(root: str, kind: str, names: tuple[str, ...], early: bool) -> RunCommand:
    """What recipes.shared.apt.install_missing makes, with files for packages: `touch` installs them."""

    def build(parts: Parts) -> RunCommand:
        every = [name for _step, part in parts for name in part]
        return RunCommand(f"{kind} " + "; ".join(f"{step or 'own'}: {','.join(part)}" for step, part in parts),
                          sh('cd "$1" && shift && touch "$@"', root, *every))

    file = {"type": "regular file", "mode": "644", "owner": "root", "group": "root"}
    return RunCommand(f"{kind} {','.join(names)}", build((("", names),)).command,
                      hoist=Hoist(kind, names, early, build),
                      leaves=tuple((PathInfo(f"{root}/{name}"), file) for name in names))


def installs(name: str, packages: tuple[str, ...], *, kind: str = "plain", early: bool = True,
             then: bool = False) -> Step:
    """A step that installs `packages` (files) when one is missing, then (with `then`) does its own work."""

    class Installs(Step):
        title = name
        Settings = RootSettings
        teaching = Teaching(why="test")

        def facts(self, s, known, ctx):
            return [PathInfo(f"{s.root}/{package}") for package in packages] + [PathInfo(f"{s.root}/{name}.conf")]

        def plan(self, s, facts, ctx) -> Iterator[Change | Ok]:
            if any(facts[PathInfo(f"{s.root}/{package}")] is None for package in packages):
                yield toy_install(s.root, kind, packages, early)
            else:
                yield Ok(f"installed: {','.join(packages)}")
            if then and facts[PathInfo(f"{s.root}/{name}.conf")] is None:
                yield RunCommand(f"configure {name}", sh('touch "$1"', f"{s.root}/{name}.conf"))

    Installs.name = name
    return Installs()


def runner(tmp_path: Path, events: list[Event], steps: list[Step]) -> Runner:
    transport = LocalTransport()
    asyncio.run(transport.connect())
    return Runner(transport, [(step, RootSettings(root=str(tmp_path))) for step in steps], events.append)


def stack() -> list[Step]:
    return [installs("base", ("curl",), then=True), installs("python", ("python3",)),
            installs("monitoring", ("exporter",), early=False), installs("web", ("nginx",), kind="recommends"),
            installs("tls", ("certbot",), then=True)]


def test_a_dry_run_shows_the_merged_install_at_the_first_installing_step(tmp_path: Path) -> None:
    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, stack()).plan()).ok
    planned = {e.step: [c["why"] for c in e.changes] for e in events if isinstance(e, StepPlanned)}
    assert planned["base"] == ["plain own: curl; python: python3; tls: certbot", "recommends web: nginx",
                               "configure base"]
    assert planned["python"] == [] and planned["web"] == []
    assert planned["tls"] == ["configure tls"]
    assert planned["monitoring"] == ["plain exporter"]  # not early: its own step installs it
    assert not list(tmp_path.iterdir())  # and the plan wrote nothing


def test_apply_runs_what_the_dry_run_showed_and_later_steps_find_their_packages(tmp_path: Path) -> None:
    dry: list[Event] = []
    asyncio.run(runner(tmp_path, dry, stack()).plan())
    applied: list[Event] = []
    result = asyncio.run(runner(tmp_path, applied, stack()).apply())
    assert result.ok, result.error
    shown = [c["do"] for e in dry if isinstance(e, StepPlanned) for c in e.changes]
    assert [e.description for e in applied if isinstance(e, ChangeStarted) and not e.check] == shown
    assert {e.step for e in applied if isinstance(e, StepNoop)} == {"python", "web"}
    assert {p.name for p in tmp_path.iterdir()} == {"curl", "python3", "certbot", "nginx", "exporter", "base.conf",
                                                    "tls.conf"}
    again: list[Event] = []
    assert asyncio.run(runner(tmp_path, again, stack()).apply()).changes == 0


def test_a_step_already_done_takes_nothing_in_and_a_resumed_run_installs_its_own(tmp_path: Path) -> None:
    (tmp_path / "curl").touch()  # the first step has nothing to install: the next installing step hosts
    events: list[Event] = []
    asyncio.run(runner(tmp_path, events, stack()).plan())
    planned = {e.step: [c["why"] for c in e.changes] for e in events if isinstance(e, StepPlanned)}
    assert planned["base"] == ["configure base"]
    assert planned["python"] == ["plain own: python3; tls: certbot", "recommends web: nginx"]


def test_merge_keeps_other_changes_in_place_and_one_run_per_kind() -> None:
    def change(why: str, kind: str | None = None) -> RunCommand:
        hoist = Hoist(kind, (why,), True, lambda parts: RunCommand(
            "+".join(f"{s}:{','.join(n)}" for s, n in parts), sh("true"))) if kind else None
        return RunCommand(why, sh("true"), hoist=hoist)

    later = [("b", Hoist("x", ("p",), True, lambda parts: RunCommand("never", sh("true"))), ()),
             ("c", Hoist("y", ("q",), True, lambda parts: RunCommand(
                 "+".join(f"{s}:{','.join(n)}" for s, n in parts), sh("true"))), ())]
    out = merge([change("update"), change("a1", "x"), change("a2", "x"), change("conf")], later)
    assert [c.why for c in out] == ["update", ":a1+b:p", "c:q", "a2", "conf"]
    assert merge([change("update")], []) == [change("update")]


def test_apt_splits_runs_by_recommends_and_names_each_step_in_en_and_zh() -> None:
    own = install_missing(("curl", "git"), {"curl": None, "git": None}, recommends=False)
    pg = install_missing(("postgresql", "logrotate"), {}, recommends=False, early=True)
    web = install_missing(("nginx",), {}, early=True)
    assert own is not None and pg is not None and web is not None and own.hoist and pg.hoist and web.hoist
    assert own.hoist.kind != web.hoist.kind and own.hoist.kind == pg.hoist.kind
    out = merge([own], [("database", pg.hoist, pg.leaves), ("nginx", web.hoist, web.leaves)])
    assert [without_note(c.describe()) for c in out] == [
        "apt-get -y install --no-install-recommends curl git postgresql logrotate", "apt-get -y install nginx"]
    assert out[0].why == "install curl, git and, ahead of its step, database: postgresql, logrotate (one package run)"
    assert out[1].why == "install, ahead of its step, nginx: nginx (one package run)"
    assert {leaf[0].key for leaf in out[0].leaves} >= {"packages:postgresql", "packages:logrotate", "packages:curl"}
    set_language("zh_CN")
    try:
        zh = merge([install_missing(("curl",), {}, recommends=False)], [("database", pg.hoist, pg.leaves)])
        assert zh[0].why == "安装 curl，并提前安装其步骤的软件包：database：postgresql, logrotate（一次软件包安装完成）"
    finally:
        set_language("en")


class Refuses(Step):
    """A later step that cannot plan yet (a conflict, a bad setting): looking ahead must not fail the host."""

    name = "refuses"
    title = "refuses"
    Settings = RootSettings
    teaching = Teaching(why="test")

    def plan(self, s, facts, ctx):
        raise PlanError("refused in its own turn")


def test_a_later_step_that_cannot_plan_fails_in_its_own_turn_not_in_the_installing_one(tmp_path: Path) -> None:
    events: list[Event] = []
    steps = [installs("base", ("curl",)), Refuses(), installs("tls", ("certbot",))]
    result = asyncio.run(runner(tmp_path, events, steps).apply())
    assert not result.ok and result.failed_step == "refuses" and result.error == "refused in its own turn"
    assert {p.name for p in tmp_path.iterdir()} == {"curl", "certbot"}  # tls's came early, in base's run
