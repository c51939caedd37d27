"""The practice sandbox from the wizard (issue 18, item 6): the Welcome button's result names the sandbox and how to
remove it; quitting names the sandboxes this wizard started that still run, and offers to stop them.

No sandbox is booted: the lab's functions are replaced by stand-ins that record what was asked of them.
"""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from screens.confirm_modal import ConfirmModal
from tests.tui.conftest import showing
from tests.tui.test_recover import wait_for
from wizard.app.draft import Draft
from wizard.lab import sandbox
from wizard.lab.instance import SandboxInfo

INFO = SandboxInfo(name="wiz1", index=3, ip="10.99.3.2", port=22, key="/var/lib/deploy-wizard/sandbox/ssh/id_ed25519",
                   host_key="ssh-ed25519 AAAA", fingerprint="SHA256:" + "S" * 43, started=0.0)


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The lab's functions, standing in: `up` boots INFO, `down` stops it; what was called, by name."""
    calls: dict[str, list[str]] = {"up": [], "down": []}
    running: set[str] = set()

    def up(name: str | None, progress: object) -> SandboxInfo:
        calls["up"].append(str(name))
        running.add(INFO.name)
        return INFO

    def down(name: str, progress: object) -> None:
        calls["down"].append(name)
        running.discard(name)

    monkeypatch.setattr(sandbox, "check_host", lambda: None)
    monkeypatch.setattr(sandbox, "up", up)
    monkeypatch.setattr(sandbox, "down", down)
    monkeypatch.setattr(sandbox, "is_running", lambda name: name in running)
    return calls


async def boot(app: WizardApp, pilot) -> None:  # noqa: ANN001
    await pilot.pause()
    app.screen.query_one("#sandbox").press()
    await wait_for(pilot, lambda: showing(app) == "TargetScreen")


async def test_the_sandbox_button_says_its_name_and_how_to_remove_it(lab) -> None:
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await boot(app, pilot)
        said = str(app.screen.query_one("#sandbox").render())
        assert "wiz1" in said and "10.99.3.2" in said and "deploy-wizard sandbox down wiz1" in said
        assert any("deploy-wizard sandbox down wiz1" in str(n.message) for n in app._notifications)
        assert app.draft.target["host"] == "10.99.3.2" and app.draft.target["host_key"] == INFO.fingerprint


@pytest.mark.parametrize("stop", [True, False])
async def test_quitting_names_the_running_sandbox_and_offers_to_stop_it(lab, stop: bool) -> None:
    app = WizardApp(Draft(name="demo"))
    said: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        exit_app = app.exit
        app.exit = lambda message=None, **kw: (said.append(str(message)), exit_app(message=message, **kw))[1]
        await boot(app, pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        text = str(app.screen.query_one("#confirm-text").render())
        assert "wiz1 (10.99.3.2)" in text and "still running" in text
        await pilot.press("ctrl+q")  # asked once, not twice
        await pilot.pause()
        assert len([s for s in app.screen_stack if isinstance(s, ConfirmModal)]) == 1
        app.screen.query_one("#yes" if stop else "#no").press()
        await wait_for(pilot, lambda: bool(said))
    assert lab["down"] == (["wiz1"] if stop else [])
    if stop:
        assert "The practice server wiz1 is stopped and removed." in said[0]
    else:
        assert "still running; `deploy-wizard sandbox down wiz1` removes it" in said[0]


async def test_quitting_asks_nothing_when_the_sandbox_was_already_removed(lab) -> None:
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await boot(app, pilot)
        sandbox.down("wiz1", print)  # removed meanwhile, from another terminal
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)


async def test_a_sandbox_that_boots_after_the_operator_went_on_leaves_their_recipe_alone(
        lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Welcome screen stays under the flow's screens now (the app's first screen): a boot it started ends
    while the operator is already on another recipe. Their draft and screen stay; the sandbox is noted, so
    quitting still offers to stop it."""
    import threading

    release = threading.Event()
    booted = sandbox.up

    def slow_up(name: str | None, progress: object) -> SandboxInfo:
        release.wait(10)
        return booted(name, progress)

    monkeypatch.setattr(sandbox, "up", slow_up)
    app = WizardApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#sandbox").press()
        await pilot.pause()
        app.screen.query_one("#new").press()
        await wait_for(pilot, lambda: showing(app) == "TargetScreen")
        mine = app.draft
        release.set()
        await wait_for(pilot, lambda: bool(app.sandboxes))
        await pilot.pause()
        assert app.draft is mine
        assert mine.target.get("host") != INFO.ip
        assert showing(app) == "TargetScreen"
        assert app.sandboxes == [INFO]
