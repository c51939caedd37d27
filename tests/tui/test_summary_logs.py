"""The Summary's Logs view (issue 20, 5.1): `l` reads the app's last lines from the server through the same code
as `deploy-wizard logs`, masked; `l` again the next service. The transport answers like a server
(tests/fakes.py); the live proof of the command is tests/live/test_observe.py."""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from tests.fakes import ScriptedTransport, scripted
from tests.tui.test_summary_checks import EXAMPLE, show_summary
from wizard.app.draft import Draft
from wizard.app.recipefile import load
from wizard.engine.transports.base import Result


def server(line: str) -> Result:
    if "journalctl" in line:
        return Result(0, "2026-12-04T10:00:00 web demo@abc[1]: connected with postgresql://demo:s3cret-pw@localhost/demo\n",
                      "")
    if "tail -n" in line:
        return Result(0, '1.2.3.4 - - [04/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 5 rt=0.004 urt=0.004\n', "")
    return Result(0, "", "")


async def shown(screen, text: str) -> str:  # noqa: ANN001
    for _ in range(100):
        said = str(screen.query_one("#logs").render())
        if text in said:
            return said
        await asyncio.sleep(0.05)
    raise AssertionError(f"never showed {text!r}: {said!r}")


async def test_l_shows_the_apps_lines_masked_then_nginxs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(answer=server))
    monkeypatch.setenv("DEMO_DB_PASSWORD", "s3cret-pw")
    ScriptedTransport.opened.clear()
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await show_summary(pilot, recipe)
        await pilot.press("l")
        first = await shown(screen, "connected with")
        await pilot.press("l")
        second = await shown(screen, "rt=0.004")
    assert first.startswith("Logs of app on 10.99.1.2, the last 40 lines (l: the next of app, nginx, db, system)")
    assert "postgresql://demo:***@localhost/demo" in first and "s3cret-pw" not in first
    assert second.startswith("Logs of nginx")
    assert all(transport.closed for transport in ScriptedTransport.opened)
    assert any("journalctl" in line for line in ScriptedTransport.opened[0].sent)
