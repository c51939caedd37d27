"""The Welcome screen's messages stay in view (finding of the fresh-eyes trial: with three drafts or more, "No
such file" and the sandbox's progress were drawn below the bottom of an 80x24 screen)."""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from tests.tui.test_keys import screen_text
from wizard.app.draft import Draft
from wizard.engine import i18n


async def test_the_garbage_collector_runs_again_once_the_first_screen_is_drawn() -> None:
    """`deploy-wizard` pauses the collector while the wizard starts (wizard.cli.new_edit.wizard): the app resumes
    it after its first screen, so that a long session (a run's output streaming in) is collected as ever."""
    import gc

    gc.disable()
    try:
        app = WizardApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "Welcome to deploy-wizard" in screen_text(app)
            assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.parametrize(("lang", "said"), [("en", "No such file: nope.yaml"), ("zh_CN", "没有这个文件：nope.yaml")])
async def test_a_message_is_in_view_with_many_drafts(lang: str, said: str) -> None:
    for n in range(6):
        Draft(name=f"app{n}", target={"host": f"web{n}.example.com"}).autosave()
    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        message = app.screen.query_one("#message")
        assert not message.display  # no empty line while there is nothing to say
        app.screen.query_one("#path").value = "nope.yaml"
        app.screen.query_one("#open").press()
        await pilot.pause()
        assert said in screen_text(app)
        assert app.screen.region.contains_region(message.region)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_checklist_is_whole_in_view_with_drafts_listed(lang: str) -> None:
    """Finding of the third trial: with drafts listed, the Chinese "before you start" checklist was cut at 80x24.
    A returning operator (drafts listed) gets the list without its introduction, and the whole checklist."""
    for n in range(5):
        Draft(name=f"app{n}", target={"host": f"web{n}.example.com"}).autosave()
    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        checklist = app.screen.query_one("#checklist")
        form = app.screen.query_one(".form")
        assert form.region.contains_region(checklist.region), (form.region, checklist.region)
        last = {"en": "an SSH login to the server with sudo, or root",
                "zh_CN": "一个能用 sudo 的服务器 SSH 登录账户，或 root"}[lang]
        assert last in screen_text(app)
        assert not app.screen.query_one("#intro").display
        assert "app4" in screen_text(app)  # the newest draft on top, in view


async def test_a_first_visit_has_the_introduction() -> None:
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#intro").display
        assert "This wizard sets up a fresh Linux server" in screen_text(app)


async def test_back_from_the_first_question_is_the_welcome_screen_again_with_the_draft_listed() -> None:
    """The Welcome screen is the app's first screen (not pushed over Textual's blank one, for the first paint):
    New, Back, New again keeps two screens on the stack, and Back shows the draft just saved in the list."""
    from screens.target import TargetScreen
    from screens.welcome import WelcomeScreen

    app = WizardApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert app.screen_stack == [app.screen]
        for _round in range(2):
            app.screen.query_one("#new").press()
            await pilot.pause()
            assert isinstance(app.screen, TargetScreen)
            app.draft.name = "shop"
            await pilot.press("ctrl+b")
            await pilot.pause()
            assert isinstance(app.screen, WelcomeScreen)
            assert len(app.screen_stack) == 2
            assert "shop" in screen_text(app)  # the draft Back saved, listed to go on with
