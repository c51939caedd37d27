"""Installs run behind the steps (wizard.engine.behind, issue 22): once the first step that ran a package command
is done, the later steps' early installs run one at a time, in step order, while the steps before theirs run.

On a real shell (the local transport), with toy "packages" that are files and a log file every command appends
to, so the order things happened in is read back, never timed: a dry run and an apply show the same install in
the same step; an install behind overlaps the steps before its own; a package command of any other step waits
for the queue; a failure is its own step's, and a retry installs it there; a run that stops early waits for
the install in progress; step-through runs nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from recipes.shared.apt import apt_get, install_missing
from wizard.engine.behind import PACKAGE_LOCK_ENV, uses_packages
from wizard.engine.commands import sh
from wizard.engine.events import (
    ChangeStarted,
    Event,
    Notice,
    NoticeLevel,
    StepFinished,
    StepNoop,
    StepPlanned,
    StepStatus,
)
from wizard.engine.facts import PathInfo
from wizard.engine.runner import Runner
from wizard.engine.step import Change, Ok, RunCommand, Step, StepSettings, Teaching
from wizard.engine.transports.local import LocalTransport

FILE = {"type": "regular file", "mode": "644", "owner": "root", "group": "root"}


class RootSettings(StepSettings):
    root: str


def toy_install(root: str, names: tuple[str, ...], early: bool, *, wait: str = "", fetch: bool = False) -> RunCommand:
    """What recipes.shared.apt.install_missing makes, with files for packages. It logs its start and end; with
    `wait`, it holds until that file exists (what another step makes: proof the two overlapped); it fails while
    the file `fail.PACKAGE` exists (after the wait). With `fetch`, its download ahead logs its start and end,
    makes `fetching.PACKAGE` as it starts, holds up to 3 s while `hold` exists, and fails while `fetchfail`
    exists."""
    script = ('r=$1; w=$2; shift 2; echo "start $*" >> "$r/log"; n=0; while [ -n "$w" ] && [ ! -e "$r/$w" ] && '
              '[ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done; [ ! -e "$r/fail.$1" ] || { echo broken >&2; '
              'exit 100; }; cd "$r" && touch "$@" && echo "end $*" >> log')
    download = ('r=$1; shift; echo "fetch $*" >> "$r/log"; touch "$r/fetching.$1"; n=0; while [ -e "$r/hold" ] && '
                '[ $n -lt 30 ]; do sleep 0.1; n=$((n+1)); done; '
                '[ ! -e "$r/fetchfail" ] || { echo "E: Failed to fetch" >&2; exit 7; }; '
                'echo "fetched $*" >> "$r/log"')
    return RunCommand(f"install {','.join(names)}", sh(script, root, wait, *names, env={PACKAGE_LOCK_ENV: "5"}),
                      early=early, leaves=tuple((PathInfo(f"{root}/{name}"), FILE) for name in names),
                      fetch=sh(download, root, *names) if fetch else None)


WAIT_FOR_LINE = ('n=0; while [ -n "$3" ] && ! grep -qx "$3" "$1/log" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; '
                 'n=$((n+1)); done; ')


async def decides_after(root: Path, line: str) -> str:
    """The operator, asked about a failed step: once `line` is in the log (or 5 s in vain) and half a second more
    (an install the pause did not hold would have started by then), they log "decided", fix it and retry."""
    for _wait in range(50):
        if line in log(root):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    with (root / "log").open("a") as lines:
        lines.write("decided\n")
    (root / "fixed").touch()
    return "retry"


def fails(after: str) -> Step:
    """A step that fails once the line `after` is in the log (or after 5 s in vain), until the file `fixed`
    exists (the operator's fix by hand)."""

    class Fails(Step):
        name = title = "fails"
        Settings = RootSettings
        teaching = Teaching(why="test")

        def facts(self, s, known, ctx):
            return [PathInfo(f"{s.root}/fixed")]

        def plan(self, s, facts, ctx):
            if facts[PathInfo(f"{s.root}/fixed")] is None:
                yield RunCommand("break", sh(WAIT_FOR_LINE + "exit 3", s.root, "", after))
            else:
                yield Ok("fixed")

    return Fails()


def installs(name: str, packages: tuple[str, ...], *, early: bool = True, then: bool = False,
             wait: str = "", conf_after: str = "", fetch: bool = False) -> Step:
    """A step that installs `packages` (files) when one is missing, then (with `then`) logs and makes its own
    file `NAME.conf`; with `conf_after`, once that line is in the log (or after 5 s in vain)."""

    class Installs(Step):
        title = name
        Settings = RootSettings
        teaching = Teaching(why="test")

        def facts(self, s, known, ctx):
            return [PathInfo(f"{s.root}/{package}") for package in packages] + [PathInfo(f"{s.root}/{name}.conf")]

        def plan(self, s, facts, ctx) -> Iterator[Change | Ok]:
            if any(facts[PathInfo(f"{s.root}/{package}")] is None for package in packages):
                yield toy_install(s.root, packages, early, wait=wait, fetch=fetch)
            else:
                yield Ok(f"installed: {','.join(packages)}")
            if then and facts[PathInfo(f"{s.root}/{name}.conf")] is None:
                yield RunCommand(f"configure {name}", sh(WAIT_FOR_LINE + 'echo "conf $2" >> "$1/log"; '
                                                         'touch "$1/$2.conf"', s.root, name, conf_after))

    Installs.name = name
    return Installs()


def runner(tmp_path: Path, events: list[Event], steps: list[Step], **kw: object) -> Runner:
    transport = LocalTransport()
    asyncio.run(transport.connect())
    return Runner(transport, [(step, RootSettings(root=str(tmp_path))) for step in steps], events.append, **kw)


def stack(*, wait: str = "", conf_after: str = "") -> list[Step]:
    """base installs first (the host), then python, whose conf can wait for a line in the log; tls's install
    can wait for a file."""
    return [installs("base", ("curl",), early=False),
            installs("python", ("python3",), then=True, conf_after=conf_after),
            installs("monitoring", ("exporter",), early=False), installs("web", ("nginx",)),
            installs("tls", ("certbot",), then=True, wait=wait)]


def log(tmp_path: Path) -> list[str]:
    return (tmp_path / "log").read_text().splitlines()


def test_plan_and_apply_show_each_install_in_its_own_step_and_a_second_apply_changes_nothing(tmp_path: Path) -> None:
    dry: list[Event] = []
    assert asyncio.run(runner(tmp_path, dry, stack()).plan()).ok
    planned = {e.step: [c["why"] for c in e.changes] for e in dry if isinstance(e, StepPlanned)}
    assert planned == {"base": ["install curl"], "python": ["install python3", "configure python"],
                       "monitoring": ["install exporter"], "web": ["install nginx"],
                       "tls": ["install certbot", "configure tls"]}
    applied: list[Event] = []
    result = asyncio.run(runner(tmp_path, applied, stack()).apply())
    assert result.ok, result.error
    shown = [(e.step, c["do"]) for e in dry if isinstance(e, StepPlanned) for c in e.changes]
    assert [(e.step, e.description) for e in applied if isinstance(e, ChangeStarted)] == shown
    behind = [e.text for e in applied if isinstance(e, Notice) and "installing in the background" in e.text]
    assert [text.split(":")[0] for text in behind] == ["installing in the background for the python step",
                                                       "installing in the background for the web step",
                                                       "installing in the background for the tls step"]
    again: list[Event] = []
    assert asyncio.run(runner(tmp_path, again, stack()).apply()).changes == 0


def test_an_install_behind_runs_while_the_steps_before_its_own_run(tmp_path: Path) -> None:
    """python's conf waits for tls's install to start, and tls's install for python's conf: both can go on only
    if tls's install runs while the python step runs, behind it (one at a time, each waits 5 s in vain, and
    python's conf comes first)."""
    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, stack(wait="python.conf", conf_after="start certbot")).apply()).ok
    lines = log(tmp_path)
    assert lines.index("start certbot") < lines.index("conf python") < lines.index("end certbot")


def test_a_package_command_of_another_step_waits_for_the_installs_behind(tmp_path: Path) -> None:
    """monitoring's own install (not early) is a package command: it runs after every install queued before it
    ended, never beside one (dpkg's lock), here the installs of web and tls, which come after monitoring."""
    assert asyncio.run(runner(tmp_path, [], stack()).apply()).ok
    lines = log(tmp_path)
    assert lines.index("end certbot") < lines.index("start exporter")


def test_a_failed_install_behind_is_its_steps_failure_and_a_retry_installs_it_there(tmp_path: Path) -> None:
    steps = [installs("base", ("curl",), early=False), installs("python", ("python3",))]
    events: list[Event] = []
    asked: list[str] = []

    async def on_failure(step: str, error: str) -> str:
        asked.append(f"{step}: {error}")
        (tmp_path / "fail.python3").unlink()  # the operator fixes the cause
        return "retry"

    (tmp_path / "fail.python3").touch()
    assert asyncio.run(runner(tmp_path, events, steps, on_failure=on_failure).apply()).ok
    assert asked and asked[0].startswith("python: ") and "broken" in asked[0]
    started = [e.step for e in events if isinstance(e, ChangeStarted) and e.why == "install python3"]
    assert started.count("python") == 2  # shown in its own step both times: behind, then run there
    assert (tmp_path / "python3").exists()


def test_a_run_that_stops_early_waits_for_the_install_in_progress_starts_no_other_and_says_so(tmp_path: Path) -> None:
    # it fails once tls's install started behind it
    steps = [installs("base", ("curl",), early=False), fails("start certbot"),
             installs("tls", ("certbot",), wait="never"), installs("web", ("nginx",))]
    events: list[Event] = []
    result = asyncio.run(runner(tmp_path, events, steps).apply())
    assert not result.ok and result.failed_step == "fails"
    # the install in progress ran to its end (after its 5 s wait) before the run ended; the next one never began
    assert log(tmp_path)[-1] == "end certbot" and "start nginx" not in log(tmp_path)
    assert any("installed in the background for the tls step, which did not run" in e.text for e in events
               if isinstance(e, Notice))


def test_step_through_runs_nothing_behind(tmp_path: Path) -> None:
    async def yes(step: str, change: Change) -> bool:
        return True

    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, stack(), before_change=yes).apply()).ok
    assert not any(isinstance(e, Notice) and "background" in e.text for e in events)
    lines = log(tmp_path)
    assert lines.index("conf python") < lines.index("start certbot")  # only in python's own turn


def test_apt_commands_are_package_commands_and_installs_say_if_they_may_run_behind() -> None:
    pg = install_missing(("postgresql", "logrotate"), {}, recommends=False, early=True)
    exporter = install_missing(("prometheus-node-exporter",), {})
    assert pg is not None and exporter is not None
    assert pg.early and not exporter.early
    assert uses_packages(pg) and uses_packages(exporter)
    assert uses_packages(RunCommand("upgrade", apt_get("upgrade")))
    assert not uses_packages(RunCommand("other", sh("true")))
    assert pg.why == "install postgresql, logrotate"


def test_a_step_whose_only_change_ran_behind_is_changed_not_a_noop(tmp_path: Path) -> None:
    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, stack()).apply()).ok
    web = [e for e in events if getattr(e, "step", None) == "web"]
    assert not any(isinstance(e, StepNoop) for e in web)
    assert [e.status for e in web if isinstance(e, StepFinished)] == [StepStatus.CHANGED]


def test_an_install_behind_that_failed_for_a_step_that_never_ran_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "fail.certbot").touch()
    events: list[Event] = []
    steps = [installs("base", ("curl",), early=False), fails("start certbot"), installs("tls", ("certbot",))]
    assert not asyncio.run(runner(tmp_path, events, steps).apply()).ok
    warned = [e.text for e in events if isinstance(e, Notice) and e.level is NoticeLevel.WARNING]
    assert any("the install in the background for the tls step failed" in text and "broken" in text
               for text in warned), warned


def test_no_install_starts_behind_while_the_operator_is_asked_about_a_failed_step(tmp_path: Path) -> None:
    """web's install holds until the operator is asked; tls's waits behind it. While the operator decides, web's
    ends and tls's does not start (dpkg's lock stays free for a fix by hand); once they choose, it runs."""
    async def on_failure(step: str, error: str) -> str:
        (tmp_path / "asked").touch()  # web's install ends now
        return await decides_after(tmp_path, "end nginx")

    # it fails once web's install started behind it
    steps = [installs("base", ("curl",), early=False), fails("start nginx"), installs("web", ("nginx",), wait="asked"),
             installs("tls", ("certbot",))]
    assert asyncio.run(runner(tmp_path, [], steps, on_failure=on_failure).apply()).ok
    lines = log(tmp_path)
    assert lines.index("end nginx") < lines.index("decided") < lines.index("start certbot"), lines


def test_a_settings_file_an_install_needs_first_runs_behind_before_it_and_is_not_called_an_install(
        tmp_path: Path) -> None:
    """An exporter's settings go in place before its package starts it (recipes/monitoring/exporters): both run
    behind the steps before theirs, in that order, and the step says what each was."""

    class Settled(Step):
        name = title = "settled"
        Settings = RootSettings
        teaching = Teaching(why="test")

        def facts(self, s, known, ctx):
            return [PathInfo(f"{s.root}/exporter"), PathInfo(f"{s.root}/exporter.default")]

        def plan(self, s, facts, ctx) -> Iterator[Change | Ok]:
            if facts[PathInfo(f"{s.root}/exporter")] is None:
                if facts[PathInfo(f"{s.root}/exporter.default")] is None:
                    yield RunCommand("settings first", sh('echo settings >> "$1/log"; touch "$1/exporter.default"',
                                                          s.root), early=True)
                yield toy_install(s.root, ("exporter",), True)

    events: list[Event] = []
    steps = [installs("base", ("curl",), early=False), installs("python", ("python3",), then=True), Settled()]
    assert asyncio.run(runner(tmp_path, events, steps).apply()).ok
    lines = log(tmp_path)
    assert lines.index("settings") < lines.index("start exporter")
    notes = [e.text for e in events if isinstance(e, Notice) and e.step == "settled"]
    assert any(text.startswith("done in the background, before the install it prepares") for text in notes), notes
    # the end names what ended: the next job's start is often told between a change and its end
    ended = [text.split("\n")[0] for text in notes if text.startswith("installed in the background")]
    assert len(ended) == 1 and ended[0].endswith("exporter"), notes
    started = [e.text.split(":")[0] for e in events
               if isinstance(e, Notice) and "in the background for the settled step" in e.text]
    assert started == ["preparing in the background for the settled step",
                       "installing in the background for the settled step"]
    assert asyncio.run(runner(tmp_path, [], steps).apply()).changes == 0
