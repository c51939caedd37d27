"""Modals say what they are for (issue 18, item 4): the database password's dialog is its own (a new password, typed
twice), the failure dialog names the step by its title, and step-through's Stop ends the run as the operator's
decision (no failure dialog), while Skip leaves out just that change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Switch

from screens.app import WizardApp
from screens.failure_modal import FailureModal
from screens.password_modal import ask_secrets, sudo_text
from tests.tui.conftest import flow_keys, showing
from tests.tui.server import FakeServer
from tests.tui.test_recover import configure_draft, wait_for
from wizard.app.draft import Draft
from wizard.app.recipefile import parse
from wizard.app.session import secret_questions
from wizard.engine import i18n


async def test_the_database_password_has_its_own_dialog_with_a_confirm_field() -> None:
    recipe = parse("version: 1\nname: demo\ntarget: {host: web1.example.com, user: admin, sudo_password: prompt}\n"
                   "steps: {database: {password: prompt}}\n")
    seen: list[tuple[str, str, bool]] = []
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        asking = app.run_worker(ask_secrets(app, secret_questions(recipe), {}))
        for value in ("sudo-pw", "db-pw"):
            await wait_for(pilot, lambda: showing(app) == "PasswordModal" and app.screen.query("#password"))
            await pilot.pause()
            screen = app.screen
            seen.append((str(screen.query_one("#password-title").render()),
                         str(screen.query_one("#password-text").render()), bool(screen.query("#confirm"))))
            await pilot.press(*value, "enter")
            if screen.query("#confirm"):
                await pilot.press(*value, "enter")
            await pilot.pause()
        await asking.wait()
    (sudo_title, sudo_words, sudo_twice), (db_title, db_words, db_twice) = seen
    assert sudo_title == "sudo password for admin@web1.example.com" and not sudo_twice
    assert db_title == "Password of the app's database role" and db_twice
    assert db_words != sudo_text() and "sudo" not in db_words and "only its hash reaches the server" in db_words
    assert asking.result == {"target.sudo_password": "sudo-pw", "database.password": "db-pw"}


@pytest.mark.parametrize(("lang", "title"), [("en", "“nginx web server” failed"),
                                             ("zh_CN", "“nginx 网页服务器”失败了")])
async def test_the_failure_dialog_names_the_step_by_its_title(lang: str, title: str) -> None:
    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(FailureModal("nginx", "'nginx -t' failed with exit status 1:\nunknown directive"))
        await pilot.pause()
        assert str(app.screen.query_one("#failure-title").render()) == title


async def step_through(app: WizardApp, pilot, button: str) -> None:  # noqa: ANN001
    """Run from the Review with step-through on, and answer the first change's dialog with `button`."""
    app.goto(flow_keys()["review"])
    await pilot.pause()
    app.screen.query_one("#step-through", Switch).value = True
    app.screen.query_one("#run", Button).press()
    await wait_for(pilot, lambda: showing(app) == "ChangeModal")
    await pilot.pause()
    app.screen.query_one(button, Button).press()


async def test_stop_in_step_through_is_not_a_failure(server: type[FakeServer], tmp_path: Path) -> None:
    app = WizardApp(configure_draft(tmp_path, "good"), start="flow")
    shown: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await step_through(app, pilot, "#stop")
        await wait_for(pilot, lambda: shown.append(showing(app)) or (showing(app) == "SummaryScreen"
                                                              and app.screen.query("#summary-title")))
        assert str(app.screen.query_one("#summary-title").render()) == "Stopped at your request"
        text = str(app.screen.query_one("#summary-text").render())
        assert "Stopped at your request before: configure good" in text and "Error" not in text
    assert "FailureModal" not in shown
    assert "configure good" not in server.sent


async def test_skip_in_step_through_leaves_out_just_that_change(server: type[FakeServer], tmp_path: Path) -> None:
    app = WizardApp(configure_draft(tmp_path, "good"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await step_through(app, pilot, "#skip")
        await wait_for(pilot, lambda: showing(app) == "SummaryScreen" and app.screen.query("#summary-title"))
        assert str(app.screen.query_one("#summary-title").render()) == "Done, except the changes you left out"
        assert "configure: configure good" in str(app.screen.query_one("#summary-text").render())
    assert "configure good" not in server.sent
