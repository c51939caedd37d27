"""What the Summary says after a run (findings of the fresh-eyes trial): after a failure, what failed and what to
do instead of "run again to see nothing changes"; steps by their titles, on the Run screen and the Quit dialog too;
the export advice that runs as written; F2 after the checks ran; and the check list saying what the checks run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable

from screens.app import WizardApp
from screens.summary import SummaryScreen
from tests.fakes import scripted
from tests.tui.test_keys import screen_text
from tests.tui.test_summary_checks import EXAMPLE, server, wait_for
from wizard.app.draft import Draft
from wizard.app.recipefile import load
from wizard.engine import i18n
from wizard.engine.runner import RunResult

FAILED = RunResult(ok=False, changes=2, changed_steps=["os_updates"], failed_step="nginx",
                   error="'nginx -t' failed with exit status 1:\nunknown directive", seconds=12.0, round_trips=9)
DONE = RunResult(ok=True, changes=3, changed_steps=["os_updates", "app_server"], failed_step=None, error=None,
                 seconds=9.0, round_trips=30)


async def summary_text(result: RunResult, error: str | None = None) -> str:
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(SummaryScreen(recipe, result, error, Path("demo.yaml")))
        await pilot.pause()
        return str(app.screen.query_one("#summary-text").render())


@pytest.mark.parametrize(("lang", "next_words", "step"), [("en", "Next: fix what stopped", "nginx web server"),
                                                          ("zh_CN", "接下来：排除让", "nginx 网页服务器")])
async def test_after_a_failure_the_summary_says_what_failed_and_what_to_do(lang: str, next_words: str,
                                                                           step: str) -> None:
    i18n.set_language(lang)
    text = await summary_text(FAILED)
    assert next_words in text and ("'Back to edit'" in text or "“返回修改”" in text)
    assert f"{step}" in text.split(next_words)[1]
    assert "nothing changes" not in text and "没有任何改动" not in text
    assert "deploy-wizard export" not in text  # automation advice is for a recipe that ran through


async def test_a_run_that_never_reached_a_step_says_to_fix_the_connection() -> None:
    text = await summary_text(None, "cannot connect to web1: connection refused")  # type: ignore[arg-type]
    assert "Error: cannot connect" in text and "stopped before its first step" in text
    assert "nothing changes" not in text


async def test_steps_are_named_by_their_titles_not_their_recipe_keys() -> None:
    text = await summary_text(FAILED)
    assert "2 changes (OS updates)" in text and "Stopped at nginx web server:" in text
    assert "os_updates" not in text
    i18n.set_language("zh_CN")
    text = await summary_text(DONE)
    assert "系统更新、应用服务器（gunicorn）" in text


async def test_the_ansible_export_advice_carries_the_record_on_it_needs() -> None:
    from wizard.cli.parser import build_parser

    text = await summary_text(DONE)
    assert "`--format ansible --record-on sandbox`" in text
    # and the command the advice names parses as written
    args = build_parser().parse_args(["export", "demo.yaml", "--format", "ansible", "--record-on", "sandbox"])
    assert args.record_on == "sandbox"


async def run_checks(app: WizardApp, pilot, done: str = "checks passed") -> str:  # noqa: ANN001
    screen = app.screen
    await pilot.press("v")
    return await wait_for(screen, done)  # type: ignore[arg-type]


async def test_the_check_list_says_what_the_checks_run_for_a_root_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe says no login user (ssh config decides): the list said `sudo -u` while the checks, logged in as
    root, ran `runuser`. Once connected, both say what runs."""
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(answer=server, user="root"))
    recipe = load(EXAMPLE)
    recipe.target.user = None
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        app.push_screen(SummaryScreen(recipe, DONE, None, Path("demo.yaml")))
        await pilot.pause()
        before = str(app.screen.query_one("#summary-text").render())
        assert "$ sudo -u postgres psql -l" in before
        shown = await run_checks(app, pilot)
        after = str(app.screen.query_one("#summary-text").render())
    assert "✓ Database: runuser -u postgres -- psql -l" in shown
    assert "$ runuser -u postgres -- psql -l" in after and "sudo -u postgres" not in after


async def test_f2_after_the_checks_says_them_again_and_fits_every_button(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(answer=server))
    i18n.set_language("zh_CN")
    recipe = load(EXAMPLE)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(SummaryScreen(recipe, FAILED, None, Path("demo.yaml")))
        await pilot.pause()
        shown = await run_checks(app, pilot, "项检查中通过")
        assert "项检查中通过" in shown and "退出码 1" in shown
        assert "✗ nginx 网页服务器：sudo nginx -t" in shown and "服务器: " not in shown  # a full-width colon
        await pilot.press("f2")
        await asyncio.sleep(0.1)
        await pilot.pause()
        checks = str(app.screen.query_one("#checks").render())
        assert "checks passed" in checks and "(exit 1)" in checks and "nginx web server" in checks
        for button in app.screen.query("Button"):
            assert button.region.width >= cell_len(str(button.label)) + 2, f"{button.label} is cut"


async def test_the_run_screen_names_steps_by_title_and_f2_relabels_it(draft: Draft) -> None:
    from screens.run import RunScreen
    from tests.tui.test_snapshots import FakeRun

    draft.enabled = {"os_updates", "deploy_user", "python", "app_server"}
    recipe = draft.recipe()
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RunScreen(recipe)
        screen.run_recipe = lambda: FakeRun.events(screen)  # type: ignore[method-assign]
        app.push_screen(screen)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "OS updates" in text and "App server" in text and "== [1/2] OS updates" in text
        assert "os_updates" not in text and "app_server" not in text
        assert "The wizard stopped during step Deploy user" in screen.quit_notice() or screen.command is None
        await pilot.press("f2")
        await pilot.pause()
        text = screen_text(app)
        assert "正在 web1.example.com 上运行" in text and "状态" in text and "系统更新" in text
        table = screen.query_one("#steps", DataTable)
        assert "已改动" in str(table.get_cell("os_updates", "state"))


@pytest.mark.parametrize(("lang", "said"), [("en", "No change in 1.7 s: every step was already done"),
                                            ("zh_CN", "没有任何改动，用时 1.7 秒：每个步骤都已完成")])
async def test_a_run_that_changed_nothing_says_so_in_words(lang: str, said: str) -> None:
    """Finding of the third walk: a second run's summary said "0 changes (-)", the dash read as a missing word."""
    i18n.set_language(lang)
    recipe = load(EXAMPLE)
    nothing = RunResult(ok=True, changes=0, changed_steps=[], failed_step=None, error=None, seconds=1.7,
                        round_trips=4)
    app = WizardApp(Draft.from_recipe(recipe), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(SummaryScreen(recipe, nothing, None, Path("demo.yaml")))
        await pilot.pause()
        text = str(app.screen.query_one("#summary-text").render())
    assert said in text and "(-)" not in text and "（-）" not in text
