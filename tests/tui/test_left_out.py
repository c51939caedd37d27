"""A step left out, and the operator types one of its answers (finding of the fresh-eyes trial: a new recipe has
2 of 11 steps on, and typing into the others was silently dropped). Typing includes the step, where the operator
sees it: the switch turns on, the hint under it goes, and a notice says how to leave it out again."""

from __future__ import annotations

from textual.widgets import Switch

from screens.app import WizardApp
from tests.tui.conftest import flow_keys
from wizard.app.draft import Draft

FLOW = flow_keys()


async def test_typing_an_answer_into_a_step_left_out_includes_it_and_says_so() -> None:
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["database"])
        await pilot.pause(0.3)
        assert "database" not in app.draft.enabled  # opening the page (its lists store their defaults) is no answer
        hint = app.screen.query_one("#left-out-database")
        assert hint.display and "Typing an answer below includes it" in str(hint.render())
        app.screen.query_one("#database-name").focus()
        await pilot.press(*"shop")
        await pilot.pause()
        assert "database" in app.draft.enabled and app.screen.query_one("#use-database", Switch).value
        assert not hint.display
        assert any("“Database” is now included" in str(n.message) for n in app._notifications)
        assert app.draft.data()["steps"]["database"]["name"] == "shop"  # the answer reaches the recipe


async def test_switching_a_step_off_again_keeps_it_off_while_moving_through_its_fields() -> None:
    app = WizardApp(Draft(name="demo", enabled={"database"}), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["database"])
        await pilot.pause(0.3)
        app.screen.query_one("#use-database", Switch).value = False
        await pilot.pause()
        app.screen.query_one("#database-engine").focus()
        await pilot.press("enter", "enter", "enter")  # open, keep the choice, move on; then the next field
        await pilot.pause()
        assert "database" not in app.draft.enabled
