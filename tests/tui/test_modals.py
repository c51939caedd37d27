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


def dialogs() -> dict[str, tuple[object, str, object]]:
    """Each dialog, the id of its safe answer (focused, and what Escape gives), and that answer."""
    from screens.change_modal import ChangeModal
    from screens.confirm_modal import ConfirmModal
    from screens.host_key_modal import HostKeyModal
    from screens.operator_modal import OperatorModal
    from screens.password_modal import PasswordModal
    from screens.quit_modal import QuitModal
    from wizard.engine.commands import cmd
    from wizard.engine.step import RunCommand

    return {
        "failure": (lambda: FailureModal("nginx", "boom", can_edit=True), "abort", "abort"),
        "host key": (lambda: HostKeyModal("web1", 22, "SHA256:x"), "refuse", False),
        "confirm": (lambda: ConfirmModal(lambda: "t", lambda: "x", lambda: "yes", lambda: "no"), "no", False),
        "quit": (lambda: QuitModal("nginx", "nginx -t"), "stay", False),
        "operator": (lambda: OperatorModal("code", "add the key"), "abort", False),
        "password": (lambda: PasswordModal("sudo password"), "cancel", None),
        "change": (lambda: ChangeModal("os_updates", RunCommand("update", cmd("apt-get", "update"))), "stop", "stop"),
    }


@pytest.mark.parametrize("name", list(dialogs()))
async def test_every_dialog_has_a_focused_default_and_escape_gives_the_safe_answer_it_names(name: str) -> None:
    make, safe, answer = dialogs()[name]
    focused = {"operator": "done", "password": "password", "change": "go"}.get(name, safe)
    app = WizardApp(Draft(name="demo"), start="flow")
    answers: list[object] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(make(), answers.append)
        await pilot.pause()
        assert app.focused is not None and app.focused.id == focused
        assert str(app.screen.query_one(f"#{safe}", Button).label).endswith("(Esc)")
        await pilot.press("escape")
        await pilot.pause()
    assert answers == [answer]


async def test_f1_on_a_dialog_shows_its_own_help_and_f2_relabels_it_keeping_what_was_typed() -> None:
    from screens.help import HelpScreen
    from screens.password_modal import PasswordModal
    from tests.tui.test_keys import screen_text

    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(FailureModal("nginx", "boom"))
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.keys)
        assert rows["Esc"] == "Abort" and "Retry runs it again" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FailureModal)
        app.screen.dismiss("abort")
        await pilot.pause()
        app.push_screen(PasswordModal("sudo password for admin@web1"))
        await pilot.pause()
        await pilot.press(*"half")
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one("#password").value == "half"
        assert str(app.screen.query_one("#cancel", Button).label) == "取消（Esc）"
        assert "只在本次连接期间保存在内存中" in str(app.screen.query_one("#password-text").render())


@pytest.mark.parametrize(("policy", "twice"), [("set", True), ("keep", True)])
async def test_the_database_password_is_typed_twice_with_either_policy(policy: str, twice: bool) -> None:
    """Finding of the third trial: with password_policy: keep it was typed once, yet a role not there yet is
    created with it (a typo became the password). Both policies may set it, so both ask twice."""
    recipe = parse("version: 1\nname: demo\ntarget: {host: web1.example.com, user: admin}\n"
                   f"steps: {{database: {{password: prompt, password_policy: {policy}}}}}\n")
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        asking = app.run_worker(ask_secrets(app, secret_questions(recipe), {}))
        await wait_for(pilot, lambda: showing(app) == "PasswordModal" and app.screen.query("#password"))
        await pilot.pause()
        assert bool(app.screen.query("#confirm")) is twice and bool(app.screen.query("#password-twice")) is twice
        await pilot.press(*"db-pw", "enter")
        if twice:
            await pilot.press(*"db-pw", "enter")
        await asking.wait()
    assert asking.result == {"database.password": "db-pw"}
