"""Help follows the screen (issue 18, item 5): F1 and `?` list the keys that work where they were pressed (the side
tabs' arrows, Space on switches, scrolling the side pane, Shift+Tab, Next and Back on a step screen; the drafts
list on the Welcome screen), a `?` typed into a field stays text, and fields hint at the syntax they read."""

from __future__ import annotations

from screens.app import WizardApp
from screens.help import HelpScreen
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
        for key in ("Tab / Shift+Tab", "Space", "← / →", "↑ / ↓  PgUp / PgDn", "^n", "^b", "F1 / ?"):
            assert key in rows, key
        assert "side tabs" in rows["← / →"] and "side pane" in rows["↑ / ↓  PgUp / PgDn"]
        assert rows["^n"] == "Next" and rows["^b"] == "Back"
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
        assert "← / →" not in rows and "Space" not in rows and "^n" not in rows


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
