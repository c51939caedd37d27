"""TUI tests: Textual pilot tests and SVG snapshots (pytest-textual-snapshot) stored under snapshots/tui/."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

from screens.app import WizardApp, flow
from screens.run import RunScreen
from screens.step_screen import StepScreen
from tests.conftest import ROOT
from tests.tui.server import server  # noqa: F401 - a fixture for every TUI test that runs a recipe
from wizard.app.draft import Draft
from wizard.app.recipefile import Recipe
from wizard.engine.events import ChangeStarted, OutputLine, StepStarted

SNAPSHOTS = ROOT / "snapshots" / "tui"


def flow_keys() -> dict[str, int]:
    """Position of each screen of the flow by its key: target, a step page's step names, review."""
    return {key: index for index, (key, _make) in enumerate(flow())}


def screen_text(app: WizardApp) -> str:
    """What the screen shows now, line by line (as the terminal would)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def show_run(app: WizardApp, pilot, recipe: Recipe) -> RunScreen:  # noqa: ANN001
    """The Run screen of `recipe`, pushed without running it: a test feeds its sink the events it wants."""
    screen = RunScreen(recipe)

    async def idle() -> None:
        return None

    screen.run_recipe = idle  # type: ignore[method-assign]
    app.push_screen(screen)
    await pilot.pause()
    return screen


def install_nginx(screen: RunScreen, output: Iterable[str]) -> None:
    """The first step starts `apt-get install nginx`, which prints `output`."""
    screen.sink(StepStarted(step="os_updates", index=0, total=3))
    screen.sink(ChangeStarted(step="os_updates", why="install nginx", description="apt-get install nginx"))
    for text in output:
        screen.sink(OutputLine(step="os_updates", stream="stdout", text=text))


def showing(app: WizardApp) -> str:
    """Which screen the app shows: a step page by its key (its steps), any other screen by its class."""
    screen = app.screen
    return screen.page.key if isinstance(screen, StepScreen) else type(screen).__name__


def child_processes() -> set[int]:
    """Processes whose parent is this test process (from /proc/PID/stat: "pid (comm) state ppid ...")."""
    mine, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if fields and int(fields[1]) == mine:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture(autouse=True)
def no_process_outlives_the_app() -> Iterator[None]:
    """A TUI test ends with its app: whatever a screen started (a connection, a command) is gone by then."""
    before = child_processes()
    yield
    left = child_processes() - before
    assert not left, f"processes left running after the app ended: {sorted(left)}"


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The focused field's cursor stays on: a screenshot taken as it blinks would differ from run to run."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


def _snapshot_dir(cls, *, test_location) -> str:  # noqa: ANN001
    return str(SNAPSHOTS)


# The project keeps screen baselines in snapshots/ (not __snapshots__ beside the tests).
SVGImageExtension.dirname = classmethod(_snapshot_dir)  # type: ignore[method-assign]


async def type_into(pilot, selector: str, text: str) -> None:  # noqa: ANN001
    """Replace a field's text by typing it, key by key, as a person would."""
    widget = pilot.app.screen.query_one(selector)
    widget.value = ""
    widget.focus()
    await pilot.press(*text)
    await pilot.pause()


@pytest.fixture
def draft() -> Draft:
    """A typical half-filled draft: deterministic, so screenshots are stable."""
    d = Draft(name="demo")
    d.target = {"host": "web1.example.com", "user": "admin", "port": 22}
    d.steps = {"os_updates": {"timezone": "Asia/Shanghai"}, "deploy_user": {"name": "demo"},
               "code": {"repo": "https://git.example.com/demo.git"},
               "database": {"password": "env:DEMO_DB_PASSWORD", "migrate": "django"},
               "nginx": {"server_names": ["demo.example.com"]}, "tls": {"email": "ops@example.com"}}
    d.enabled = {"os_updates", "deploy_user", "python", "code", "database", "static", "app_server", "nginx", "tls",
                 "firewall", "monitoring"}
    return d
