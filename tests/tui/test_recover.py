"""Recovering from a failed run: back to the failing step's form and run again; Ctrl+Q during a run asks first
and says what may still run on the server; drafts are kept apart, listed, and `edit` opens the latest."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from textual.css.query import NoMatches
from textual.widgets import Button, OptionList

from screens.app import WizardApp
from tests.tui.conftest import flow_keys, showing, type_into
from tests.tui.server import FakeServer
from wizard.app.draft import Draft, drafts_dir, latest_draft, saved_drafts
from wizard.engine import i18n
from wizard.engine.errors import UsageError


def configure_draft(tmp_path: Path, value: str) -> Draft:
    draft = Draft(name="demo", enabled={"configure"}, path=tmp_path / "demo.yaml")
    draft.target = {"host": "web1.example.com"}
    draft.steps = {"configure": {"value": value, "other": "kept"}}
    return draft


async def wait_for(pilot, condition, seconds: float = 15) -> None:  # noqa: ANN001
    for _ in range(int(seconds / 0.05)):
        try:
            if condition():
                return
        except NoMatches:  # what the condition asks about is not mounted yet (a busy machine)
            pass
        await pilot.pause(0.05)
    screen = "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())
    raise AssertionError(f"the app never got there; it shows {showing(pilot.app)}:\n{screen}")


async def run_from_review(app: WizardApp, pilot) -> None:  # noqa: ANN001
    app.goto(flow_keys()["review"])
    await pilot.pause()
    app.screen.query_one("#run", Button).press()
    await pilot.pause()


async def test_back_to_edit_from_the_failure_dialog_then_next_runs_again(server: type[FakeServer],
                                                                         tmp_path: Path) -> None:
    app = WizardApp(configure_draft(tmp_path, "bad"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        # the dialog's buttons, then the form's focus, arrive a frame after the screen itself (a busy machine
        # shows it): wait for what is asserted, not for a fixed number of frames
        await wait_for(pilot, lambda: showing(app) == "FailureModal" and bool(app.screen.query("#edit")))
        await pilot.click("#edit")
        await wait_for(pilot, lambda: showing(app) == "configure")
        assert len(app.screen_stack) == 2  # the run and the dialog are gone, the flow goes on from here
        banner = str(app.screen.query_one("#fixing").render())
        assert "The run stopped at Configure: " in banner and "not a valid value" in banner
        await wait_for(pilot, lambda: app.focused is app.screen.query_one("#configure-value"))
        assert app.draft.values("configure") == {"value": "bad", "other": "kept"}  # every value kept
        await type_into(pilot, "#configure-value", "good")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert showing(app) == "ReviewScreen"  # Next from the fixed form: back to the Review
        assert app.fixing is None
        app.screen.query_one("#run", Button).press()
        await wait_for(pilot, lambda: showing(app) == "SummaryScreen" and app.screen.query("#summary-title"))
        assert "Done: the server matches the recipe" in str(app.screen.query(".title").first().render())
        assert not app.screen.query("#edit")  # nothing to go back to after a good run
    assert [line for line in server.sent if line.startswith("configure")] == ["configure bad", "configure good"]
    assert "value: good" in (tmp_path / "demo.yaml").read_text()  # the Review saved the fix before the run


async def test_back_to_edit_keeps_other_steps_secrets_and_asks_the_fixed_steps_again(server: type[FakeServer],
                                                                                     tmp_path: Path) -> None:
    """A `prompt` secret lives in the app's memory: the run after Back to edit does not ask the secrets of the
    other steps again, only those of the step being fixed (a wrong one may be why it failed); none of them ever
    lands in the recipe file."""
    draft = configure_draft(tmp_path, "bad")
    draft.target["sudo_password"] = "prompt"
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        await wait_for(pilot, lambda: showing(app) == "PasswordModal")
        assert "target.sudo_password" in str(app.screen.query_one("#password-label").render())
        await pilot.press(*"s3cret-pw", "enter")
        await wait_for(pilot, lambda: showing(app) == "FailureModal")
        app.secret_answers["configure.token"] = "old"  # as if the failing step had a secret of its own
        await pilot.click("#edit")
        await wait_for(pilot, lambda: showing(app) == "configure")
        assert app.secret_answers == {"target.sudo_password": "s3cret-pw"}
        await type_into(pilot, "#configure-value", "good")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: showing(app) == "ReviewScreen")
        app.screen.query_one("#run", Button).press()
        await wait_for(pilot, lambda: showing(app) in ("SummaryScreen", "PasswordModal"))
        assert showing(app) == "SummaryScreen"  # the sudo password was not asked again
        await wait_for(pilot, lambda: bool(app.screen.query(".title")))
        assert "Done: the server matches the recipe" in str(app.screen.query(".title").first().render())
    assert [line for line in server.sent if line.startswith("configure")] == ["configure bad", "configure good"]
    assert "s3cret-pw" not in (tmp_path / "demo.yaml").read_text()


async def test_back_to_edit_from_the_summary(server: type[FakeServer], tmp_path: Path) -> None:
    app = WizardApp(configure_draft(tmp_path, "bad"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        await wait_for(pilot, lambda: showing(app) == "FailureModal")
        await pilot.click("#abort")
        await wait_for(pilot, lambda: showing(app) == "SummaryScreen" and app.screen.query("#summary-title"))
        buttons = [button.id for button in app.screen.query(".buttons Button")]
        assert buttons == ["edit", "run-checks", "quit"]  # back to edit beside the checks of the Summary
        app.screen.query_one("#edit", Button).press()
        await wait_for(pilot, lambda: showing(app) == "configure")
        assert "not a valid value" in str(app.screen.query_one("#fixing").render())


async def test_a_run_that_fails_before_any_step_goes_back_to_the_target(server: type[FakeServer],
                                                                         tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.engine.transports.base import TransportError

    async def refused(self: FakeServer) -> None:
        raise TransportError("connection refused by web1.example.com")

    monkeypatch.setattr(FakeServer, "connect", refused)
    app = WizardApp(configure_draft(tmp_path, "good"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        await wait_for(pilot, lambda: showing(app) == "SummaryScreen" and app.screen.query("#summary-title"))
        app.screen.query_one("#edit", Button).press()
        await wait_for(pilot, lambda: showing(app) == "TargetScreen")
        assert "connection refused" in str(app.screen.query_one("#fixing").render())


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_ctrl_q_during_a_run_asks_and_says_what_still_runs_on_the_server(server: type[FakeServer],
                                                                               tmp_path: Path, lang: str,
                                                                               capsys: pytest.CaptureFixture) -> None:
    i18n.set_language(lang)
    app = WizardApp(configure_draft(tmp_path, "block"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        await wait_for(pilot, lambda: "configure block" in server.sent)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert showing(app) == "QuitModal"
        text = " ".join(str(static.render()) for static in app.screen.query(".dialog Static"))
        assert "configure block" in text
        await pilot.press("escape")  # keep running
        await pilot.pause()
        assert showing(app) == "RunScreen" and app.screen.running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#quit")
        await wait_for(pilot, lambda: not app.is_running, 10)
    assert server.closed == 1  # the connection was closed before the wizard went
    said = capsys.readouterr().err  # what the terminal shows once the wizard is gone
    assert "Traceback" not in said
    assert "configure block" in said and "--resume" in said
    # the Review saved the recipe, which holds every answer: no draft beside it, and the notice says so
    assert f"deploy-wizard edit {tmp_path / 'demo.yaml'}" in said.replace("\n", "")
    assert not app.draft.draft_path().exists()


async def test_ctrl_q_while_the_failure_dialog_waits_says_nothing_runs(server: type[FakeServer], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    app = WizardApp(configure_draft(tmp_path, "bad"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await run_from_review(app, pilot)
        await wait_for(pilot, lambda: showing(app) == "FailureModal")
        await pilot.press("ctrl+q")
        await pilot.pause()
        text = " ".join(str(static.render()) for static in app.screen.query(".dialog Static"))
        assert "at step Configure; nothing is changing on the server" in text
        await pilot.click("#quit")
        await wait_for(pilot, lambda: not app.is_running, 10)
    said = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in said and "at step Configure; nothing is changing" in said
    assert server.closed == 1


async def test_ctrl_q_without_a_run_quits_at_once() -> None:
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running


def test_two_new_drafts_of_one_app_are_kept_apart() -> None:
    first, second = Draft(name="demo"), Draft(name="demo")
    first.target = second.target = {"host": "web1.example.com"}
    first.autosave()
    second.autosave()
    assert first.draft_path() != second.draft_path()
    assert len(saved_drafts()) == 2
    assert first.draft_path().name.startswith("demo-web1.example.com-")


def test_a_draft_moves_with_its_app_name_and_host_and_leaves_no_copy() -> None:
    draft = Draft(name="demo")
    old = draft.autosave()
    draft.name, draft.target = "shop", {"host": "10.0.0.5"}
    new = draft.autosave()
    assert not old.exists() and new.exists() and new.name.startswith("shop-10.0.0.5-")
    reopened = Draft.load(new)
    reopened.steps = {"os_updates": {"timezone": "UTC"}}
    assert reopened.autosave() == new  # the same draft, the same file
    assert [d.path for d in saved_drafts()] == [new]


def test_a_recipe_file_has_one_draft_however_often_it_is_opened(tmp_path: Path) -> None:
    recipe = tmp_path / "shop.yaml"
    recipe.write_text("version: 1\nname: shop\ntarget: {host: web1.example.com}\nsteps: {}\n")
    assert Draft.load(recipe).autosave() == Draft.load(recipe).autosave()


def test_edit_without_a_file_opens_the_latest_draft(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.cli import new_edit

    opened: list[Path | None] = []
    monkeypatch.setattr(new_edit, "wizard", lambda file: opened.append(file) or 0)
    with pytest.raises(UsageError, match="No draft"):
        new_edit.handle(argparse.Namespace(command="edit", file=None))
    older, newer = Draft(name="old"), Draft(name="new")
    older.autosave()
    newer.autosave()
    import os

    os.utime(older.draft_path(), (1, 1))
    assert latest_draft() == newer.draft_path()
    new_edit.handle(argparse.Namespace(command="edit", file=None))
    assert opened == [newer.draft_path()]


def test_edit_takes_no_file_on_the_command_line() -> None:
    from wizard.cli.parser import build_parser

    assert build_parser().parse_args(["edit"]).file is None
    assert build_parser().parse_args(["edit", "x.yaml"]).file == "x.yaml"


async def test_the_welcome_screen_lists_the_drafts_and_opens_one() -> None:
    kept = Draft(name="shop")
    kept.target = {"host": "web2.example.com"}
    kept.steps = {"os_updates": {"timezone": "Asia/Shanghai"}}
    kept.autosave()
    app = WizardApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        drafts = app.screen.query_one("#drafts", OptionList)
        assert "shop · web2.example.com" in str(drafts.get_option_at_index(0).prompt)
        drafts.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert showing(app) == "TargetScreen"
    assert app.draft.target["host"] == "web2.example.com"
    assert app.draft.steps["os_updates"] == {"timezone": "Asia/Shanghai"}
    assert [d.path for d in saved_drafts()] == [kept.draft_path()]  # going on with it did not copy it
    assert drafts_dir().is_dir()


async def test_failure_dialog_answers_edit_only_when_it_may(server: type[FakeServer]) -> None:
    from screens.failure_modal import FailureModal

    answers: list[object] = []
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(FailureModal("nginx", "failed"), answers.append)
        await pilot.pause()
        assert not app.screen.query("#edit")
        await pilot.press("escape")
        app.push_screen(FailureModal("nginx", "failed", can_edit=True), answers.append)
        await pilot.pause()
        await pilot.click("#edit")
        await asyncio.sleep(0)
        await pilot.pause()
    assert answers == ["abort", "edit"]


async def test_a_wizard_left_before_anything_was_typed_leaves_no_draft() -> None:
    app = WizardApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#new")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert saved_drafts() == []


def test_the_fixing_banner_says_what_failed_and_its_last_word_on_why_in_two_lines_at_most() -> None:
    from rich.cells import cell_len

    from screens.wizard_screen import BANNER_CELLS, fixing_text

    assert fixing_text("nginx", "'nginx -t' failed:\nline\nunknown directive").splitlines()[0] == (
        "The run stopped at nginx: 'nginx -t' failed: unknown directive")
    assert fixing_text("nginx", "").startswith("The last run did not complete nginx.")  # skipped: no error kept
    assert fixing_text(None, "connection refused").startswith("The run stopped before its first step: connection")
    assert cell_len(fixing_text("nginx", "x" * 500).splitlines()[0]) == BANNER_CELLS


def test_a_draft_goes_once_the_recipe_file_holds_every_answer_and_comes_back_on_a_change(
        server: type[FakeServer], tmp_path: Path) -> None:
    draft = configure_draft(tmp_path, "good")
    first = draft.autosave()
    assert first.parent == drafts_dir() and first.exists()
    draft.save()
    assert draft.autosave() == tmp_path / "demo.yaml"
    assert not first.exists() and saved_drafts() == []
    draft.values("configure")["value"] = "changed"  # typed after the save: only the draft has it
    again = draft.autosave()
    assert again.parent == drafts_dir() and "changed" in again.read_text()
