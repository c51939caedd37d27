"""The goals in the wizard: a setting the goals fill in, switched on a step's page, is the operator's own from
then on (goals.own), so set back to its default (fail2ban off on a public site) it stays off instead of following
the goals; and the wizard's own run writes the values the goals resolved to into the recipe file, as `apply` does,
keeping the file's comments."""

from __future__ import annotations

from pathlib import Path

import pytest
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


async def test_the_wizards_run_saves_the_resolved_values_in_the_recipe_file(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.run import RunScreen
    from tests.test_goals import _resolved_recipe  # the values for a 2-CPU, 2 GiB server
    from wizard.app import session
    from wizard.app.recipefile import load
    from wizard.engine.runner import RunResult

    path = tmp_path / "shop.yaml"
    path.write_text("# the shop\nversion: 1\nname: shop\ntarget: {host: 10.0.0.1}\nsteps:\n"
                    "  goals:\n    audience: public  # anyone\n    peak_users: 200\n  firewall: {}\n")
    draft = Draft.load(path)
    recipe = draft.recipe()
    resolved = _resolved_recipe(path.read_text())

    async def run(recipe, mode, sink, questions, **options):  # noqa: ANN001, ANN202, ARG001
        options["on_resolved"](resolved)
        return RunResult(ok=True, changes=1, changed_steps=["goals"], failed_step=None, error=None, seconds=1.0,
                         round_trips=1)

    monkeypatch.setattr(session, "run_recipe", run)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunScreen(recipe))
        await pilot.pause(0.5)
        assert load(path).steps.goals.resolved == resolved.steps.goals.resolved
        text = path.read_text()
        assert text.startswith("# the shop\n") and "audience: public  # anyone" in text and "firewall: {}" in text
        assert app.draft.in_recipe_file()  # the draft holds them too: nothing left to save
        assert any("Saved the values the goals resolved to" in str(n.message) for n in app._notifications)


async def test_a_text_box_typed_is_the_operators_and_emptied_follows_the_goals_again() -> None:
    draft = Draft(name="demo", target={"host": "10.0.0.1"}, enabled={"goals", "app_server"},
                  steps={"goals": {"audience": "public"}, "app_server": {"module": "app:app"}})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["static+app_server+nginx"])
        await pilot.pause(0.3)
        app.screen.query_one("#app_server-workers").focus()
        await pilot.press("3")
        await pilot.pause()
        assert app.draft.steps["goals"]["own"] == ["app_server.workers"]
        await pilot.press("backspace")
        await pilot.pause()
        assert app.draft.steps["goals"]["own"] == []  # empty: the goals size it again
