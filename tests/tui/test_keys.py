"""The wizard without a mouse: focus on entry, Next/Back keys, Enter to advance, switches that Enter does not
flip, the step indicator, and a footer and help that follow the screen and the language."""

from __future__ import annotations

import pytest
from textual.widgets import Footer, Switch
from textual.widgets._footer import FooterKey

from screens.app import WizardApp
from tests.tui.conftest import flow_keys, screen_text, show_run, showing, type_into
from wizard.app.draft import Draft
from wizard.engine import i18n

FLOW = flow_keys()


def footer(app: WizardApp) -> dict[str, str]:
    """The footer as shown: key -> description."""
    return {key.key_display or key.key: key.description for key in app.screen.query_one(Footer).query(FooterKey)}


async def test_the_first_field_has_the_focus_when_a_screen_opens() -> None:
    app = WizardApp(Draft(name="demo", enabled={"os_updates", "deploy_user", "code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused is app.screen.query_one("#app-name")
        app.goto(FLOW["os_updates+deploy_user"])
        await pilot.pause()
        assert app.focused is app.screen.query_one("#os_updates-lists_max_age")
        app.goto(FLOW["code"])
        await pilot.pause()
        assert app.focused is app.screen.query_one("#code-repo")
        app.goto(FLOW["database"])  # not included: its include switch
        await pilot.pause()
        assert app.focused is app.screen.query_one("#use-database")


async def test_ctrl_n_and_ctrl_b_move_through_the_flow_from_inside_a_field() -> None:
    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await type_into(pilot, "#code-repo", "not a url")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert showing(app) == "code"  # Next checks the form, as the button does
        await type_into(pilot, "#code-repo", "https://git.example.com/demo.git")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert showing(app) == "database"
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert showing(app) == "code"
        assert app.draft.values("code")["repo"] == "https://git.example.com/demo.git"


async def test_enter_moves_to_the_next_field_and_on_the_last_one_to_the_next_screen() -> None:
    draft = Draft(name="demo")
    draft.target = {"host": "web1.example.com"}
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        order = [widget.id for widget in app.screen.fields()]
        assert order[:3] == ["app-name", "target-host", "target-port"]
        await pilot.press("enter")
        assert app.focused.id == "target-host"
        app.screen.fields()[-1].focus()
        await pilot.press("enter")
        await pilot.pause()
        assert showing(app) == "goals"  # the next screen: the first step page


async def test_enter_on_a_switch_moves_on_and_space_toggles_it() -> None:
    app = WizardApp(Draft(name="demo", enabled={"monitoring"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["monitoring"])
        await pilot.pause()
        switch = app.focused
        assert isinstance(switch, Switch)
        value = switch.value
        await pilot.press("enter")
        await pilot.pause()
        assert switch.value == value and app.focused is not switch  # not flipped silently: moved on
        switch.focus()
        await pilot.press("space")
        await pilot.pause()
        assert switch.value != value


async def test_the_include_switch_is_not_flipped_by_enter_either() -> None:
    app = WizardApp(Draft(name="demo", enabled=set()), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["database"])
        await pilot.pause()
        assert app.focused.id == "use-database"
        await pilot.press("enter")
        await pilot.pause()
        assert "database" not in app.draft.enabled


@pytest.mark.parametrize(("lang", "next_text", "position"), [("en", "Next", "2 of"), ("zh_CN", "下一步", "第 2/")])
async def test_the_footer_and_the_title_follow_the_screen_and_the_language(lang: str, next_text: str,
                                                                           position: str) -> None:
    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Ctrl+N" not in footer(app)  # the Welcome screen has no Next
        app.goto(FLOW["goals"])  # the first step page: page 2
        await pilot.pause()
        assert footer(app)["Ctrl+N"] == next_text
        assert position in str(app.screen.query_one("TitleBar").render())
        await pilot.press("f2")
        await pilot.pause()
        other = "下一步" if lang == "en" else "Next"
        assert footer(app)["Ctrl+N"] == other and footer(app)["F1"] == ("帮助" if lang == "en" else "Help")
        assert ("第 2/" if lang == "en" else "2 of") in str(app.screen.query_one("TitleBar").render())


async def test_help_follows_the_screen_it_was_opened_on() -> None:

    draft = Draft(name="demo")
    draft.target = {"host": "web1.example.com"}
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert "Plan tab" in screen_text(app)  # what the screen is for, on top
        await pilot.press("end")  # the keys scroll under it; the Close button stays
        await pilot.pause()
        text = screen_text(app)
        assert "Ctrl+N" in text and "Next" in text and "Close (Esc)" in text
        await pilot.press("escape")
        await show_run(app, pilot, draft.recipe())
        await pilot.press("f1")
        await pilot.pause()
        text = screen_text(app)
        assert "F3" in text and "All output" in text and "Ctrl+N  " not in text


async def test_enter_opens_a_choice_list_and_enter_there_chooses_and_moves_on() -> None:
    """Textual's Select took the focus back after a choice: Enter opened the list again, and the focus never left."""
    from textual.widgets import Select

    app = WizardApp(Draft(name="demo", enabled={"database"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["database"])
        await pilot.pause()
        engine = app.screen.query_one("#database-engine", Select)
        engine.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert engine.expanded
        await pilot.press("down", "enter")  # the second choice
        await pilot.pause()
        assert not engine.expanded and engine.value == "mariadb"
        assert app.focused is app.screen.query_one("#database-name")
        assert app.draft.values("database")["engine"] == "mariadb"
        engine.focus()
        await pilot.press("enter", "escape")  # Escape closes the list unchanged, and stays
        await pilot.pause()
        assert app.focused is engine and engine.value == "mariadb" and not engine.expanded
