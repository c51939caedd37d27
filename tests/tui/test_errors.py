"""Errors at the right time and place (issue 18, item 3): a required field's message once it was left or on Next,
none for a step switched off; "fix the fields marked in red" takes the cursor to the first one, scrolled into view,
and names it; saving into a directory that does not exist offers to create it, and a failed save says why in
words (no temporary file name, no errno); drafts keep the recipe's absolute path."""

from __future__ import annotations

import pytest
import yaml

from screens.app import WizardApp
from screens.confirm_modal import ConfirmModal
from tests.tui.conftest import flow_keys, showing, type_into
from wizard.app.draft import Draft

FLOW = flow_keys()


def error_of(app: WizardApp, field: str) -> str:
    widget = app.screen.query_one(f"#{field}-error")
    return str(widget.render()) if widget.display else ""


def notices(app: WizardApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_a_required_message_waits_until_the_field_is_left_or_next_is_pressed() -> None:
    draft = Draft(name="demo", enabled={"static", "app_server", "nginx"})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["static+app_server+nginx"])
        await pilot.pause()
        assert error_of(app, "app_server-module") == ""  # a form just opened has done nothing wrong
        assert error_of(app, "nginx-server_names") == ""
        await type_into(pilot, "#app_server-module", "app:app")  # typing one field says nothing about others
        assert error_of(app, "nginx-server_names") == ""
        app.screen.query_one("#nginx-server_names").focus()
        await pilot.pause()
        await pilot.press("tab")  # left empty: now it is said
        await pilot.pause()
        assert error_of(app, "nginx-server_names") != ""


async def test_next_shows_every_message_of_an_included_step() -> None:
    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "code" and error_of(app, "code-repo") != ""


async def test_a_step_switched_off_shows_no_message_and_does_not_hold_next() -> None:
    app = WizardApp(Draft(name="demo", enabled={"code"}), start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await pilot.click("#next")
        await pilot.pause()
        assert error_of(app, "code-repo") != ""
        app.screen.query_one("#use-code").focus()
        await pilot.press("space")  # the step left out: its messages go
        await pilot.pause()
        assert error_of(app, "code-repo") == ""
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "database"
        await pilot.press("ctrl+b")
        await pilot.pause()
        await type_into(pilot, "#code-repo", "not a url;rm")  # typing an answer includes the step again (issue
        assert "code" in app.draft.enabled and error_of(app, "code-repo") != ""  # of the trial): its messages too


async def test_fix_the_fields_goes_to_the_first_bad_field_out_of_view_and_names_it() -> None:
    """The nginx step's domain names are below two other steps' forms: far out of view at 80x24."""
    draft = Draft(name="demo", enabled={"static", "app_server", "nginx"}, steps={"app_server": {"module": "app:app"}})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["static+app_server+nginx"])
        await pilot.pause()
        form = app.screen.query_one(".form")
        field = app.screen.query_one("#nginx-server_names")
        assert not form.region.contains_region(field.region)
        await pilot.press("ctrl+n")
        await pilot.pause(0.3)
        assert app.focused is field
        assert form.region.contains_region(field.region)  # scrolled into view
        assert any("Domain names the site answers to (nginx web server)" in text for text in notices(app))


async def test_the_target_screen_names_its_bad_field_too() -> None:
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#target-host")
        assert any("Fix the fields marked in red first: Host name or IP address of the server" in text
                   for text in notices(app))


def review_app(tmp_path) -> WizardApp:  # noqa: ANN001
    draft = Draft(name="demo", target={"host": "web1.example.com"}, enabled={"os_updates"}, steps={"os_updates": {}})
    return WizardApp(draft, start="flow")


async def goto_review(pilot, path: str) -> None:  # noqa: ANN001
    pilot.app.goto(FLOW["review"])
    await pilot.pause()
    await type_into(pilot, "#recipe-path", path)


@pytest.mark.parametrize("create", [True, False])
async def test_saving_into_a_missing_directory_offers_to_create_it(tmp_path, create: bool) -> None:
    target = tmp_path / "recipes" / "prod" / "demo.yaml"
    app = review_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto_review(pilot, str(target))
        await pilot.click("#save")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert str(target.parent) in str(app.screen.query_one(".title").render())
        await pilot.click("#yes" if create else "#no")
        await pilot.pause(0.3)
        problems = str(app.screen.query_one("#problems").render())
    if create:
        assert yaml.safe_load(target.read_text())["name"] == "demo" and problems == ""
    else:
        assert not target.parent.exists() and "Not saved" in problems


async def test_a_failed_save_says_why_without_a_temporary_name_or_errno(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a directory")
    app = review_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto_review(pilot, str(tmp_path / "notes.txt" / "demo.yaml"))
        await pilot.click("#save")
        await pilot.pause(0.3)
        problems = str(app.screen.query_one("#problems").render())
    assert problems.startswith(f"Cannot save {tmp_path / 'notes.txt' / 'demo.yaml'}: ")
    assert "a file, not a directory" in problems
    assert ".tmp" not in problems and "Errno" not in problems


def test_a_draft_keeps_the_recipe_path_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    draft = Draft(name="demo", target={"host": "web1.example.com"})
    draft.path = tmp_path.relative_to(tmp_path) / "demo.yaml"  # as typed: relative to where the wizard runs
    body = yaml.safe_load(draft.autosave().read_text())["draft"]
    assert body["path"] == str(tmp_path / "demo.yaml")
    draft.enabled = {"os_updates"}
    assert draft.save() == tmp_path / "demo.yaml" and draft.path.is_absolute()
