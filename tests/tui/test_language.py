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
        assert isinstance(app.screen, StepScreen)
        assert str(app.screen.query_one(".title", Static).render()) == "代码"


async def test_f2_on_the_target_keeps_the_connection_test_and_says_it_in_chinese(monkeypatch) -> None:
    """Finding of the third trial: F2 drew the Target screen anew and the connection test's result was gone; now
    the screen is the same, the result stays, and its words (privileges, disk, memory) change language."""
    import asyncio

    from tests.tui.test_target import stand_in
    from wizard.app.draft import Draft
    from wizard.engine.transports.base import SudoMode

    monkeypatch.setattr("wizard.engine.transports.ssh.SSHTransport", stand_in("admin", 1000, SudoMode.NOPASSWD))
    draft = Draft(name="demo")
    draft.target = {"host": "web1.example.com", "user": "admin", "port": "nope"}
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        draft.target["port"] = 22
        app.screen.query_one("#target-port", Input).value = "22"
        app.screen.query_one("#test", Button).press()
        for _ in range(50):
            await asyncio.sleep(0.05)
            if text(app, "#probe").startswith("Connected"):
                break
        assert "sudo without password" in text(app, "#probe") and "9.1G free of 20G" in text(app, "#probe")
        app.screen.query_one("#target-host", Input).value = "bad host!"  # a field's message, in English
        await pilot.pause()
        assert "not a host name" in text(app, "#target-host-error")
        target = app.screen
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is target  # said again in place, not drawn anew
        probe = text(app, "#probe")
        assert probe.startswith("已以 admin") and "sudo 免密码" in probe and "Debian GNU/Linux 12" in probe
        assert "Connected" not in probe
        error = text(app, "#target-host-error")  # the validator's message, said again in Chinese
        assert error and "not a host name" not in error
        assert str(app.screen.query_one("#test", Button).label) == "测试连接"
        assert app.screen.query_one("#target-host", Input).value == "bad host!"


async def test_f2_on_a_step_screen_keeps_it_and_says_the_plan_and_the_field_messages_again() -> None:
    """The step screen is relabelled in place: the side pane's tab and scroll stay, and the words the engine made
    (the plan preview, a field's message) follow the language."""
    from textual.widgets import TabbedContent

    from wizard.app.draft import Draft

    app = WizardApp(Draft(name="demo", enabled={"os_updates", "deploy_user"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["os_updates+deploy_user"])
        await pilot.pause()
        app.screen.query_one("#os_updates-timezone", Input).value = "Mars/Nowhere/Too/Deep"
        await pilot.pause()
        english_error = text(app, "#os_updates-timezone-error")
        assert english_error
        app.screen.query_one(TabbedContent).active = "tab-plan"
        await pilot.pause()
        assert "create the user deploy" in text(app, "#plan")
        step = app.screen
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is step and app.screen.query_one(TabbedContent).active == "tab-plan"
        plan = text(app, "#plan")
        assert "create the user deploy" not in plan and "创建用户 deploy" in plan
        assert text(app, "#os_updates-timezone-error") not in ("", english_error)
        assert str(app.screen.query_one(TabbedContent).get_tab("tab-why").label) == "原因"
        assert text(app, ".title") == "系统更新与部署用户"
        assert app.screen.query_one("#os_updates-timezone", Input).value == "Mars/Nowhere/Too/Deep"


async def test_f2_on_the_welcome_screen_keeps_the_path_typed_and_says_the_message_again() -> None:
    from wizard.app.draft import Draft

    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#path", Input).value = "nope.yaml"
        app.screen.query_one("#open", Button).press()
        await pilot.pause()
        welcome = app.screen
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is welcome and app.screen.query_one("#path", Input).value == "nope.yaml"
        assert text(app, "#message") == "没有这个文件：nope.yaml"
        assert str(app.screen.query_one("#new", Button).label) == "新建配方"
        assert "开始之前" in text(app, "#checklist")


async def test_f2_on_a_screen_still_drawn_anew_says_it_in_the_other_language() -> None:
    """The Learn screen is not made of Said widgets yet: F2 draws it anew (the others are relabelled in place)."""
    from screens.learn import LearnScreen
    from wizard.app.draft import Draft

    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(LearnScreen())
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, LearnScreen) and text(app, "#heading") != "Learn by doing"
