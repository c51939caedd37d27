"""A setting the goals fill in, switched on a step's page, is the operator's own from then on (goals.own): set
back to its default (fail2ban off on a public site), it stays off instead of following the goals."""

from __future__ import annotations

from textual.widgets import Switch

from screens.app import WizardApp
from tests.tui.conftest import flow_keys
from wizard.app.draft import Draft

FLOW = flow_keys()


async def test_switching_fail2ban_makes_it_the_operators_own() -> None:
    draft = Draft(name="demo", target={"host": "10.0.0.1"}, enabled={"goals", "firewall"},
                  steps={"goals": {"audience": "public"}})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["tls+firewall"])
        await pilot.pause(0.3)
        assert "own" not in app.draft.steps["goals"]  # opening the page is no choice
        switch = app.screen.query_one("#firewall-fail2ban", Switch)
        switch.value = True
        await pilot.pause()
        switch.value = False  # back to the default: still the operator's choice
        await pilot.pause()
        assert app.draft.steps["goals"]["own"] == ["firewall.fail2ban"]
        recipe = app.draft.recipe()
        assert recipe.steps.firewall.fail2ban is False and recipe.steps.goals.own == ["firewall.fail2ban"]
        app.screen.query_one("#firewall-revert_after").focus()
        await pilot.press("backspace", "6")  # a setting the goals do not fill is not named
        await pilot.pause()
        assert app.draft.steps["goals"]["own"] == ["firewall.fail2ban"]
