"""F2 keeps everything and only changes the words: the Review's plan and step-through switch, a dialog's words and
its half-typed answer, the checks already run and the run screen's title (findings of the fresh-eyes trial)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, Static, Switch

from screens.app import WizardApp
from tests.tui.conftest import flow_keys, showing
from tests.tui.server import FakeServer
from tests.tui.test_recover import configure_draft, wait_for
from wizard.engine import i18n

FLOW = flow_keys()


def text(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_f2_on_the_review_keeps_the_plan_and_step_through(server: type[FakeServer], tmp_path: Path) -> None:
    app = WizardApp(configure_draft(tmp_path, "good"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(flow_keys()["review"])  # with the server's step in the flow
        await pilot.pause()
        app.screen.query_one("#plan", Button).press()
        await wait_for(pilot, lambda: "configure good" in text(app, "#plan-output"))
        await wait_for(pilot, lambda: not app.screen.workers)
        planned = text(app, "#plan-output")
        app.screen.query_one("#step-through", Switch).value = True
        app.screen.query_one("#recipe-path", Input).value = str(tmp_path / "other.yaml")
        review = app.screen
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is review  # relabelled in place, not drawn again
        assert app.screen.query_one("#step-through", Switch).value
        assert app.screen.query_one("#recipe-path", Input).value == str(tmp_path / "other.yaml")
        assert text(app, "#plan-output") == planned
        assert str(app.screen.query_one("#run", Button).label) == "运行"
        assert "审查" in str(app.screen.query_one(".title", Static).render())
        assert "第" in str(app.screen.query_one("TitleBar", Static).render())


async def test_f2_keeps_the_focus_on_a_form() -> None:
    from wizard.app.draft import Draft

    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        app.screen.query_one("#code-ref").focus()
        await pilot.press("f2")
        await pilot.pause()
        assert showing(app) == "code" and app.focused is app.screen.query_one("#code-ref")
        assert i18n.language() == "zh_CN"


async def test_f2_in_a_dialog_relabels_it_and_the_form_under_it_once_on_top_again() -> None:
    from screens.help import HelpScreen
    from screens.step_screen import StepScreen
    from wizard.app.draft import Draft

    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert str(app.screen.query_one("#close").label) == "关闭（Esc）"
        assert "下一个 / 上一个字段或按钮" in dict(app.screen.keys).values()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen) and app.screen.language == "zh_CN"
        assert str(app.screen.query_one(".title", Static).render()) == "代码"
