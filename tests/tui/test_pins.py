"""Trust is pinned (issue 18, item 1): a host key the operator trusts in the wizard becomes the recipe's pin (the
target's host key), on the Target screen's connection test and during a plan or a run, so a replay on another
machine is pinned too. The CLI's side (the file beside the recipe, the inventory) is in tests/test_host_pins.py.
"""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from screens.host_key_modal import HostKeyModal
from screens.run import questions_for
from tests.tui.conftest import showing
from wizard.app.draft import Draft
from wizard.app.recipefile import load
from wizard.engine.commands import Command
from wizard.engine.transports.base import Result, SudoMode

FINGERPRINT = "SHA256:" + "Q" * 43


class NewServer:
    """A server seen for the first time: connecting offers its key for trust, as the SSH transport does."""

    def __init__(self, target: object, *, trust_callback: object = None, **kw: object) -> None:
        self.target, self.trust = target, trust_callback
        self.login_user, self.is_root, self.sudo_mode = "admin", False, SudoMode.NOPASSWD

    async def connect(self) -> None:
        assert await self.trust(self.target.host, self.target.port, FINGERPRINT)  # type: ignore[attr-defined,misc]

    async def run(self, command: Command, timeout: float | None = None) -> Result:
        return Result(0, "Debian GNU/Linux 13 (trixie)\nPython 3.13.5\n9G 20G\n1963\n", "")

    async def close(self) -> None:
        pass


async def trust_when_asked(pilot) -> None:  # noqa: ANN001
    for _ in range(100):
        if isinstance(pilot.app.screen, HostKeyModal):
            break
        await pilot.pause(0.05)
    assert isinstance(pilot.app.screen, HostKeyModal), showing(pilot.app)
    # a click that lands before the modal is laid out (a loaded machine) misses: click until the modal is gone
    for _ in range(50):
        await pilot.click("#trust")
        await pilot.pause(0.05)
        if not isinstance(pilot.app.screen, HostKeyModal):
            return
    raise AssertionError(f"the host key question stayed open after its Trust button was clicked: {showing(pilot.app)}")


async def test_trusting_a_key_on_the_target_screen_fills_in_the_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wizard.engine.transports.ssh.SSHTransport", NewServer)
    draft = Draft(name="demo", target={"host": "web1.example.com", "user": "admin"})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#test")
        await trust_when_asked(pilot)
        for _ in range(50):
            if str(app.screen.query_one("#probe").render()).startswith("Connected"):
                break
            await asyncio.sleep(0.05)
        assert app.screen.query_one("#target-host_key").value == FINGERPRINT  # shown in its field
        assert draft.target["host_key"] == FINGERPRINT
        assert draft.recipe().target.host_key == FINGERPRINT


async def test_a_key_trusted_during_a_run_is_pinned_in_the_saved_recipe(tmp_path) -> None:
    """The Review saves the recipe before the run: the key trusted on the run's connection is written into it."""
    path = tmp_path / "demo.yaml"
    draft = Draft(name="demo", target={"host": "web1.example.com", "user": "admin"}, enabled={"os_updates"},
                  steps={"os_updates": {}})
    draft.save(path)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        asked = questions_for(app)
        answer = app.run_worker(asked.trust_host_key("web1.example.com", 22, FINGERPRINT))  # type: ignore[misc]
        await trust_when_asked(pilot)
        await asyncio.wait_for(answer.wait(), 60)
        assert answer.result is True
        # another server of a fleet, or another port, is not the recipe's target: its key is not the target's pin
        other = app.run_worker(asked.trust_host_key("web2.example.com", 22, "SHA256:" + "R" * 43))  # type: ignore[misc]
        await trust_when_asked(pilot)
        await asyncio.wait_for(other.wait(), 60)
    assert load(path).target.host_key == FINGERPRINT


async def test_a_pin_waits_for_save_when_the_recipe_file_has_other_edits(tmp_path) -> None:
    path = tmp_path / "demo.yaml"
    draft = Draft(name="demo", target={"host": "web1.example.com"}, enabled={"os_updates"}, steps={"os_updates": {}})
    draft.save(path)
    draft.values("os_updates")["timezone"] = "Europe/Berlin"  # typed, not saved yet
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.pin_host_key("web1.example.com", 22, FINGERPRINT)
    assert load(path).target.host_key is None and draft.target["host_key"] == FINGERPRINT
