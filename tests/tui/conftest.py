"""TUI tests: Textual pilot tests and SVG snapshots (pytest-textual-snapshot) stored under snapshots/tui/."""

from __future__ import annotations

import pytest
from pytest_textual_snapshot import SVGImageExtension

from screens.app import WizardApp, flow
from screens.step_screen import StepScreen
from tests.conftest import ROOT
from wizard.app.draft import Draft

SNAPSHOTS = ROOT / "snapshots" / "tui"


def flow_keys() -> dict[str, int]:
    """Position of each screen of the flow by its key: target, a step page's step names, review."""
    return {key: index for index, (key, _make) in enumerate(flow())}


def showing(app: WizardApp) -> str:
    """Which screen the app shows: a step page by its key (its steps), any other screen by its class."""
    screen = app.screen
    return screen.page.key if isinstance(screen, StepScreen) else type(screen).__name__


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
