"""The Summary's teaching and its "Run these checks": the recipe's real names, and each check's result.

The SSH transport is replaced by one that answers like a server (tests/fakes.py), so the checks run through
the real privilege logic without a server; nothing is left running when the app ends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.summary import SummaryScreen
from tests.conftest import ROOT
from tests.fakes import ScriptedTransport, scripted
from wizard.app.draft import Draft
from wizard.app.recipefile import load
from wizard.engine.runner import RunResult
from wizard.engine.transports.base import Result

EXAMPLE = ROOT / "examples" / "flask-app.yaml"


def server(line: str) -> Result:
    if "nginx -t" in line:
        return Result(1, "", "nginx: [emerg] unknown directive \"server_nme\"\n")
    return Result(0, "fine\n", "")


async def show_summary(pilot, recipe) -> SummaryScreen:  # noqa: ANN001
    result = RunResult(ok=True, changes=3, changed_steps=["nginx"], failed_step=None, error=None, seconds=9.0,
                       round_trips=30, journal=None)
    screen = SummaryScreen(recipe, result, None, Path("demo.yaml"))
    pilot.app.push_screen(screen)
    await pilot.pause()
    return screen


async def wait_for(screen: SummaryScreen, text: str) -> str:
    for _ in range(100):
        shown = str(screen.query_one("#checks").render())
        if text in shown:
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"never showed {text!r}: {shown!r}")


async def test_the_summary_teaches_with_the_recipes_names() -> None:
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await show_summary(pilot, recipe)
        text = screen._text()
    assert "On the server (ssh -i /var/lib/deploy-wizard/sandbox/ssh/id_ed25519 admin@10.99.1.2), as admin:" in text
    assert "  $ sudo nginx -t" in text
    assert "  $ sudo journalctl -u 'demo@*' -n 50 --no-pager  # the app's own output" in text
    assert "APP" not in text and "DOMAIN" not in text


@pytest.mark.parametrize("how", ["key", "button"])
async def test_run_these_checks_shows_each_result(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(answer=server))
    ScriptedTransport.opened.clear()
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await show_summary(pilot, recipe)
        if how == "key":
            await pilot.press("v")
        else:
            await pilot.click("#run-checks")
        shown = await wait_for(screen, "checks passed")
    [transport] = ScriptedTransport.opened
    assert transport.closed
    total = len(transport.sent)
    assert shown.startswith(f"{total - 1} of {total} checks passed")
    assert "✗ nginx web server: sudo nginx -t  (exit 1)\n    nginx: [emerg] unknown directive \"server_nme\"" in shown
    assert "✓ Database: sudo -u postgres psql -l\n    fine" in shown
    assert "sudo -n -- sh -c 'nginx -t'" in transport.sent


@pytest.mark.parametrize(("lang", "first", "then"), [("en", "Run these checks", "运行这些检查"),
                                                     ("zh_CN", "运行这些检查", "Run these checks")])
async def test_the_summarys_v_key_follows_the_language(lang: str, first: str, then: str) -> None:
    """The `v` key's footer text is the Summary's own binding: F2 relabels it like the app's keys."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    from wizard.engine import i18n

    def footer() -> dict[str, str]:
        return {key.key_display or key.key: key.description for key in app.screen.query_one(Footer).query(FooterKey)}

    i18n.set_language(lang)
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        await show_summary(pilot, recipe)
        assert footer()["v"] == first
        await pilot.press("f2")
        await pilot.pause()
        assert footer()["v"] == then
        # and the summary itself: title, text and buttons, in place
        assert (then == "运行这些检查") == ("完成" in str(app.screen.query_one("#summary-title").render()))
        assert str(app.screen.query_one("#run-checks").label) == then


async def test_quit_on_the_summary_says_where_the_draft_is(tmp_path: Path) -> None:
    """The Summary's Quit leaves the way Ctrl+Q does: the draft saved, and the terminal told where."""
    recipe = load(EXAMPLE)
    draft = Draft.from_recipe(recipe)
    draft.path = tmp_path / "demo.yaml"
    app = WizardApp(draft, start="flow")
    said: list[str | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await show_summary(pilot, recipe)
        exit_app = app.exit
        app.exit = lambda message=None, **kwargs: (said.append(message), exit_app(message=message, **kwargs))[1]
        app.screen.query_one("#quit").press()
        await pilot.pause()
    assert said and "`deploy-wizard edit` opens them again" in str(said[0])
    saved = Path(str(said[0]).split("saved in ")[1].split(";")[0])
    assert saved.exists()
