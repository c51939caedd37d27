"""The Welcome screen's messages stay in view (finding of the fresh-eyes trial: with three drafts or more, "No
such file" and the sandbox's progress were drawn below the bottom of an 80x24 screen)."""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from tests.tui.test_keys import screen_text
from wizard.app.draft import Draft
from wizard.engine import i18n


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
