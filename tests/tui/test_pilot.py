"""The wizard driven with Textual's pilot: validation, navigation, preview, language, autosave, saving."""

from __future__ import annotations

import getpass

import pytest
import yaml

from screens.app import WizardApp
from tests.tui.conftest import flow_keys, showing, type_into
from wizard.app.draft import Draft
from wizard.engine import i18n

FLOW = flow_keys()


async def test_next_is_refused_while_a_field_is_invalid_and_the_message_is_beside_it() -> None:
    draft = Draft(name="demo", enabled={"code"})
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["code"])
        await pilot.pause()
        await type_into(pilot, "#code-repo", "not a url;rm")
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "code"
        error = str(app.screen.query_one("#code-repo-error").render())
        assert "is not a git URL" in error
        await type_into(pilot, "#code-repo", "https://git.example.com/demo.git")
        assert str(app.screen.query_one("#code-repo-error").render()) == ""
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "database"


async def test_plan_preview_follows_what_is_typed() -> None:
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        app.goto(FLOW["os_updates+deploy_user"])
        await pilot.pause()
        await type_into(pilot, "#os_updates-timezone", "Europe/Berlin")
        await pilot.pause(0.5)
        plan = str(app.screen.query_one("#plan").render())
        assert "Europe/Berlin" in plan and "apt-get update" in plan


async def test_typed_values_become_the_saved_recipe(tmp_path) -> None:
    app = WizardApp(Draft(), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        await type_into(pilot, "#app-name", "shop")
        await type_into(pilot, "#target-host", "web1.example.com")
        await type_into(pilot, "#target-user", "admin")
        for _ in range(FLOW["os_updates+deploy_user"] - FLOW["target"]):  # past the goals and where it runs
            await pilot.click("#next")
            await pilot.pause()
        await type_into(pilot, "#os_updates-timezone", "Asia/Shanghai")
        await type_into(pilot, "#deploy_user-name", "shop")
        for _ in range(FLOW["review"] - FLOW["os_updates+deploy_user"]):
            await pilot.click("#next")
            await pilot.pause()
        assert showing(app) == "ReviewScreen"
        await type_into(pilot, "#recipe-path", str(tmp_path / "shop.yaml"))
        await pilot.click("#save")
        await pilot.pause()
    saved = yaml.safe_load((tmp_path / "shop.yaml").read_text())
    assert saved["name"] == "shop"
    assert saved["target"] == {"host": "web1.example.com", "port": 22, "user": "admin"}
    assert saved["steps"]["os_updates"]["timezone"] == "Asia/Shanghai"
    assert saved["steps"]["deploy_user"]["name"] == "shop"
    assert set(saved["steps"]) == {"os_updates", "deploy_user"}


async def test_language_switch_says_the_screen_in_chinese() -> None:
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["os_updates+deploy_user"])
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert i18n.language() == "zh_CN"
        assert "系统更新与部署用户" in str(app.screen.query_one(".title").render())
        await pilot.press("f2")
        await pilot.pause()
        assert i18n.language() == "en"


async def test_quitting_midway_keeps_every_answer() -> None:
    draft = Draft(name="demo")
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await type_into(pilot, "#target-host", "10.0.0.5")
        await pilot.press("ctrl+q")
        await pilot.pause()
    saved = Draft.load(draft.draft_path())
    assert saved.target["host"] == "10.0.0.5" and saved.name == "demo"


async def test_run_log_takes_a_flood_of_output_and_stays_responsive() -> None:
    from screens.run import RunScreen
    from wizard.engine.events import OutputLine, StepStarted

    draft = Draft(name="demo")
    draft.target = {"host": "web1.example.com"}
    recipe = draft.recipe()
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = RunScreen(recipe)

        async def flood() -> None:
            screen.sink(StepStarted(step="os_updates", index=0, total=2))
            for n in range(120_000):  # far faster than any command prints
                screen.sink(OutputLine(step="os_updates", stream="stdout", text=f"line {n}"))

        screen.run_recipe = flood  # type: ignore[method-assign]
        await pilot.app.push_screen(screen)
        await pilot.pause(0.5)
        await pilot.press("f1")  # a key press is still handled
        await pilot.pause()
        assert showing(app) == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        from screens.run_output import SCROLLBACK

        log = screen.query_one("#log")
        assert log.line_count == SCROLLBACK and log.lines[-1] == "  | line 119999"  # the last lines, bounded
        assert screen.buffer == []  # coalesced writes caught up


def test_every_kind_of_field_has_a_widget() -> None:
    from screens.form import WIDGETS
    from wizard.engine.options import FieldKind

    assert set(WIDGETS) == set(FieldKind)


@pytest.mark.parametrize(("modal", "button", "answer"), [
    ("failure", "#retry", "retry"), ("failure", "#skip", "skip"), ("failure", "#abort", "abort"),
    ("failure_edit", "#edit", "edit"), ("quit", "#quit", True), ("quit", "#stay", False),
    ("host_key", "#trust", True), ("host_key", "#refuse", False),
    ("operator", "#done", True), ("operator", "#abort", False),
    ("change", "#go", "run"), ("change", "#skip", "skip"), ("change", "#stop", "stop"),
    ("password", "#cancel", None),
])
async def test_each_dialog_button_gives_its_answer(modal: str, button: str, answer: object) -> None:
    from tests.tui.test_snapshots import modal as make

    answers: list[object] = []
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.push_screen(make(modal), answers.append)
        await pilot.pause()
        await pilot.click(button)
        await pilot.pause()
    assert answers == [answer]


async def test_the_password_dialog_answers_what_was_typed() -> None:
    from screens.password_modal import PasswordModal

    answers: list[str | None] = []
    app = WizardApp(Draft(name="demo"), start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.push_screen(PasswordModal("sudo password"), answers.append)
        await pilot.pause()
        await type_into(pilot, "#password", "s3cret")
        await pilot.click("#ok")
        await pilot.pause()
    assert answers == ["s3cret"]


def test_the_secrets_to_ask_before_a_run_are_found_by_type_in_every_step() -> None:
    from wizard.app.recipefile import parse
    from wizard.app.session import secret_questions

    recipe = parse("version: 1\nname: shop\ntarget: {host: web1.example.com, sudo_password: prompt}\nsteps:\n"
                   "  os_updates: {hostname: prompt}\n"  # a host name that happens to read 'prompt' is no secret
                   "  database: {password: prompt}\n"
                   "  app_server: {secret_env: {API_KEY: prompt, OTHER: 'env:OTHER_KEY'}}\n")
    asked = secret_questions(recipe)
    assert [q.label for q in asked] == ["target.sudo_password", "database.password", "app_server.secret_env.API_KEY"]
    assert [q.title for q in asked] == [f"sudo password for {getpass.getuser()}@web1.example.com",
                                        "Password of the app's database role", "Secret app_server.secret_env.API_KEY"]
    assert [q.new for q in asked] == [False, True, False]  # only the password the run sets is typed twice
