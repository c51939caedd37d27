"""Help follows the screen (issue 18, item 5): F1 and `?` list the keys that work where they were pressed (the side
tabs' arrows, Space on switches, scrolling the side pane, Shift+Tab, Next and Back on a step screen; the drafts
list on the Welcome screen), a `?` typed into a field stays text, and fields hint at the syntax they read."""

from __future__ import annotations

import re

import pytest

from screens.app import WizardApp
from screens.help import HelpScreen
from tests.conftest import ROOT
from tests.tui.conftest import flow_keys, type_into
from tests.tui.test_keys import screen_text
from wizard.app.draft import Draft

FLOW = flow_keys()


def help_rows(app: WizardApp) -> dict[str, str]:
    assert isinstance(app.screen, HelpScreen)
    return dict(app.screen.keys)


async def test_question_mark_opens_the_help_of_a_step_screen_with_its_own_keys() -> None:
    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await type_into(pilot, "#code-ref", "v1?")  # typed into a field, a ? is text
        assert app.screen.query_one("#code-ref").value == "v1?"
        assert not isinstance(app.screen, HelpScreen)
        app.screen.query_one("ContentTabs").focus()  # the side tabs: ? is not text there
        await pilot.press("question_mark")
        await pilot.pause()
        rows = help_rows(app)
        for key in ("Tab / Shift+Tab", "Space", "← / →", "↑ / ↓  PgUp / PgDn", "Ctrl+N", "Ctrl+B", "F1 / ?"):
            assert key in rows, key
        assert "side pane" in rows["← / →"] and "side pane scrolls" in rows["↑ / ↓  PgUp / PgDn"]
        assert rows["Ctrl+N"] == "Next" and rows["Ctrl+B"] == "Back"
        assert "Plan tab" in screen_text(app)  # what the screen is for, above its keys, in view at 80x24
        await pilot.press("question_mark")  # and ? closes it again
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_f1_on_the_welcome_screen_lists_its_keys_not_a_step_screens() -> None:
    Draft(name="earlier", target={"host": "web1.example.com"}).autosave()  # a draft to go on with: a list
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        rows = help_rows(app)
        assert "↑ / ↓" in rows and "draft" in rows["↑ / ↓"]
        assert "← / →" not in rows and "Space" not in rows and "Ctrl+N" not in rows


async def test_list_fields_hint_at_commas_not_brackets() -> None:
    draft = Draft(name="demo", enabled={"static", "app_server", "nginx", "tls"})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["tls+firewall"])
        await pilot.pause()
        assert app.screen.query_one("#tls-extra_domains").placeholder == "values separated by commas, e.g. a, b"
        app.goto(FLOW["static+app_server+nginx"])
        await pilot.pause()
        labels = [str(label.render()) for label in app.screen.query(".field-label")]
        assert not any("[" in label for label in labels)
        assert "Domain names the site answers to, e.g. example.com, www.example.com. *" in labels
        assert app.screen.query_one("#app_server-env").placeholder.startswith("NAME=value pairs separated by commas")


async def test_the_help_close_button_is_in_view_at_80x24_whatever_the_length() -> None:
    """The longest help (a step screen's, in Chinese): its text scrolls, the Close button stays on screen."""
    from wizard.engine import i18n

    i18n.set_language("zh_CN")
    app = WizardApp(Draft(name="demo", enabled={"static", "app_server", "nginx"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["static+app_server+nginx"])
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        close = app.screen.query_one("#close")
        assert app.screen.region.contains_region(close.region) and close.region.height == 3
        assert app.focused is close
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def help_of(app: WizardApp, pilot) -> tuple[dict[str, str], str]:  # noqa: ANN001
    await pilot.press("f1")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    topic = str(app.screen.query(".dialog-body Static")[1].render())
    rows = help_rows(app)
    await pilot.press("escape")
    await pilot.pause()
    return rows, topic


async def test_each_screens_help_says_what_its_keys_do_there(tmp_path) -> None:  # noqa: ANN001
    """Every screen's F1 against what its keys do (finding of the fresh-eyes trial): no "Next" where there is none,
    Enter in the Welcome's file field opens the file, the Summary has buttons and no fields, each screen its own
    topic (not the step screens' "Plan tab")."""
    from pathlib import Path

    from screens.summary import SummaryScreen
    from wizard.engine.runner import RunResult

    draft = Draft(name="demo", enabled={"code"}, target={"host": "web1.example.com"},
                  steps={"code": {"repo": "https://git.example.com/demo.git"}})
    app = WizardApp(draft)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows, topic = await help_of(app, pilot)  # Welcome
        assert "open that file" in rows["Enter"] and "Next" not in rows["Enter"] and "Plan tab" not in topic
        app.goto(FLOW["target"])
        await pilot.pause()
        rows, topic = await help_of(app, pilot)
        assert "on the last: Next" in rows["Enter"] and "Test connection" in topic
        app.goto(FLOW["review"])
        await pilot.pause()
        rows, topic = await help_of(app, pilot)
        assert "Next" not in rows["Enter"] and "Plan against the server" in topic and "Ctrl+N" not in rows
        recipe = draft.recipe()
        result = RunResult(ok=True, changes=1, changed_steps=["code"], failed_step=None, error=None, seconds=1.0,
                           round_trips=1)
        app.push_screen(SummaryScreen(recipe, result, None, Path("demo.yaml")))
        await pilot.pause()
        rows, topic = await help_of(app, pilot)
        assert rows["Enter"] == "press the button with the focus" and rows["v"] == "Run these checks"
        assert not any("field" in text for key, text in rows.items() if key != "F1 / ?")


async def test_the_step_screens_help_is_what_the_keys_do() -> None:
    """Its claims, pressed: Tab after the last field reaches the side tabs, ← / → switch them, Tab again reaches the
    side pane and PgDn scrolls it; ↑ / ↓ in a field scroll the form."""
    from textual.containers import VerticalScroll
    from textual.widgets import TabbedContent

    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        rows, _topic = await help_of(app, pilot)
        assert "Tab to them after the fields" in rows["← / →"]
        app.screen.fields()[-1].focus()
        await pilot.press("tab")
        assert type(app.focused).__name__ == "ContentTabs"
        tabs = app.screen.query_one(TabbedContent)
        before = tabs.active
        await pilot.press("right")
        await pilot.pause()
        assert tabs.active != before
        await pilot.press("tab")
        assert isinstance(app.focused, VerticalScroll) and tabs in app.focused.ancestors  # the side pane
        form = app.screen.query_one(".form", VerticalScroll)
        app.screen.query_one("#code-repo").focus()
        await pilot.press("pagedown")
        await pilot.pause()
        assert form.scroll_y > 0


@pytest.mark.parametrize(("lang", "scrolls"), [("en", "scroll the form from a field; the side pane"),
                                               ("zh_CN", "在字段中时滚动表单；侧栏也能")])
async def test_f1_on_a_step_screen_says_in_view_that_the_side_pane_scrolls_and_how(lang: str, scrolls: str) -> None:
    """Finding of the third trial: the step screen's help said nothing in view about scrolling the side pane (its
    line came last, below the fold of the help at 80x24), and keys were written three ways (^q, f2, Ctrl+N)."""
    from wizard.engine import i18n

    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo", enabled={"os_updates", "deploy_user"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["os_updates+deploy_user"])
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        shown = screen_text(app)
        assert scrolls in shown  # in view without scrolling the help
        assert ("Why, Plan, Verify, If it" if lang == "en" else "原因、计划、验证、出错时") in shown
        for key in ("Ctrl+Q", "F1", "F2", "Ctrl+B", "Ctrl+N"):  # the footer under the help
            assert key in shown, key
        assert not re.search(r"\^[a-z]\b|\bf[0-9]\b|ctrl\+", shown), shown
        await pilot.press("escape")
        await pilot.pause()
        # the side pane's scroll is where the help says: Tab after the tabs, and ↓ scrolls it
        app.screen.query_one("ContentTabs").focus()
        await pilot.press("right", "tab")  # the Plan tab: the longest text
        await pilot.pause()
        pane = app.screen.focused
        assert pane is not None and pane.parent is not None and pane.parent.id == "tab-plan"
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.scroll_y > 0


def test_every_key_is_written_one_way() -> None:
    from screens.keys import key_name

    assert [key_name(k) for k in ("ctrl+q", "f1", "f2", "ctrl+n", "shift+tab", "question_mark", "escape", "v")] == \
        ["Ctrl+Q", "F1", "F2", "Ctrl+N", "Shift+Tab", "?", "Esc", "v"]
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"\^[a-zA-Z]\b|`f[0-9]`|\bctrl-[a-z]\b", readme)
