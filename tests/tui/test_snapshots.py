"""Every screen at 80x24, in English and in Simplified Chinese, compared with its SVG baseline."""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from tests.tui.conftest import flow_keys
from wizard.engine import i18n
from wizard.engine.events import ChangeStarted, OutputLine, StepFinished, StepStarted
from wizard.engine.runner import RunResult

LANGS = ["en", "zh_CN"]
FLOW = flow_keys()  # target, one key per step page (its step names, e.g. tls+firewall), review


def app_for(draft, lang: str) -> WizardApp:
    i18n.set_language(lang)
    return WizardApp(draft, start="flow")


@pytest.mark.parametrize("lang", LANGS)
def test_welcome(snap_compare, draft, lang) -> None:
    i18n.set_language(lang)
    assert snap_compare(WizardApp(draft), terminal_size=(80, 24))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("screen", list(FLOW))
def test_flow_screen(snap_compare, draft, lang, screen) -> None:
    async def go(pilot) -> None:
        pilot.app.goto(FLOW[screen])
        await pilot.pause(0.5)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=go)


def modal(name: str):  # noqa: ANN201
    from pathlib import Path

    from screens.app import stop_sandboxes_question
    from screens.change_modal import ChangeModal
    from screens.failure_modal import FailureModal
    from screens.help import HelpScreen
    from screens.host_key_modal import HostKeyModal
    from screens.operator_modal import OperatorModal
    from screens.password_modal import PasswordModal
    from screens.quit_modal import QuitModal
    from screens.review import create_folder_question
    from wizard.app import registry
    from wizard.app.recipefile import parse
    from wizard.app.session import secret_questions
    from wizard.engine.commands import cmd
    from wizard.engine.i18n import _
    from wizard.engine.step import RunCommand

    # the texts as the engine and the steps make them, in the language of the snapshot
    code, os_updates = registry.step("code"), registry.step("os_updates")
    database = secret_questions(parse("version: 1\ntarget: {host: web1}\nsteps: {database: {password: prompt}}\n"))[0]
    nginx_failed = _("'{what}' failed with exit status {code}:\n{detail}").format(what="nginx -t", code=1,
                                                                                 detail="unknown directive")
    return {
        "host_key": lambda: HostKeyModal("web1.example.com", 22, "SHA256:" + "A1b2C3d4" * 5 + "xyz"),
        "password": lambda: PasswordModal(_("sudo password for {user}@{host}").format(user="admin",
                                                                                     host="web1.example.com")),
        "new_password": lambda: PasswordModal(database.title, database.text, confirm=database.new,
                                              label=database.label),
        "failure": lambda: FailureModal("nginx", nginx_failed),
        "failure_edit": lambda: FailureModal("nginx", nginx_failed, can_edit=True),
        "quit": lambda: QuitModal("os_updates", "apt-get install -y nginx"),
        "operator": lambda: OperatorModal("code", code.tr("Add this key to {repo} as a read-only deploy key:\n\n"
                                                          "  {key}\n").format(
            repo="git@github.com:acme/demo.git", key="ssh-ed25519 AAAAC3Nza... deploy-wizard@demo")),
        "change": lambda: ChangeModal("os_updates", RunCommand(
            os_updates.tr("set the time zone to {tz} (now {now})").format(tz="Asia/Shanghai", now="Etc/UTC"),
            cmd("timedatectl", "set-timezone", "Asia/Shanghai"))),
        "help": HelpScreen,
        "create_folder": lambda: create_folder_question(Path("/home/ops/recipes/prod"), "demo.yaml"),
        "stop_sandbox": lambda: stop_sandboxes_question("wiz1 (10.99.3.2)", 1),
    }[name]()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["host_key", "password", "new_password", "failure", "failure_edit", "operator",
                                  "change", "help", "quit", "create_folder", "stop_sandbox"])
def test_modal(snap_compare, draft, lang, name) -> None:
    async def show(pilot) -> None:
        pilot.app.push_screen(modal(name))
        await pilot.pause(0.3)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=show)


class FakeRun:
    """A run screen fed a fixed sequence of events instead of a server (the live tests run real ones)."""

    @staticmethod
    async def events(screen) -> None:  # noqa: ANN001
        screen.sink(StepStarted(step="os_updates", index=0, total=2, ts=0))
        screen.sink(ChangeStarted(step="os_updates", why="refresh the package lists", description="apt-get update",
                                  ts=0))
        for n in range(3):
            screen.sink(OutputLine(step="os_updates", stream="stdout", text=f"Get:{n} http://deb.debian.org", ts=0))
        screen.sink(StepFinished(step="os_updates", status="changed", changes=1, seconds=1.0, round_trips=3, ts=0))
        screen.sink(StepStarted(step="deploy_user", index=1, total=2, ts=0))
        screen.started.clear()
        screen.flush()


@pytest.mark.parametrize("lang", LANGS)
def test_run_screen(snap_compare, draft, lang) -> None:
    from screens.run import RunScreen

    draft.enabled = {"os_updates", "deploy_user"}
    recipe = draft.recipe()

    async def show(pilot) -> None:
        screen = RunScreen(recipe)
        screen.run_recipe = lambda: FakeRun.events(screen)  # type: ignore[method-assign]
        pilot.app.push_screen(screen)
        await pilot.pause(0.5)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=show)


@pytest.mark.parametrize("lang", LANGS)
def test_summary_screen(snap_compare, draft, lang, tmp_path) -> None:
    from pathlib import Path

    from screens.summary import SummaryScreen

    draft.enabled = {"os_updates", "deploy_user"}
    recipe = draft.recipe()
    result = RunResult(ok=True, changes=7, changed_steps=["os_updates", "deploy_user"], failed_step=None,
                       error=None, seconds=42.0, round_trips=17, journal="/var/log/journal.jsonl")

    async def show(pilot) -> None:
        pilot.app.push_screen(SummaryScreen(recipe, result, None, Path("demo.yaml")))
        await pilot.pause(0.3)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=show)


@pytest.mark.parametrize("lang", LANGS)
def test_failed_summary_screen(snap_compare, draft, lang) -> None:
    """A failed run's summary: Back to edit beside Run these checks and Quit, all on an 80-column screen."""
    from pathlib import Path

    from screens.summary import SummaryScreen
    from wizard.engine.i18n import _

    draft.enabled = {"os_updates", "deploy_user", "app_server", "nginx"}  # nginx needs an app server
    recipe = draft.recipe()
    i18n.set_language(lang)  # the error as the engine says it, in the language of the snapshot
    error = _("'{what}' failed with exit status {code}:\n{detail}").format(what="nginx -t", code=1,
                                                                          detail="unknown directive")
    result = RunResult(ok=False, changes=2, changed_steps=["os_updates"], failed_step="nginx", error=error,
                       seconds=12.0, round_trips=9, journal=None)

    async def show(pilot) -> None:
        pilot.app.push_screen(SummaryScreen(recipe, result, None, Path("demo.yaml")))
        await pilot.pause(0.3)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=show)


@pytest.mark.parametrize("lang", LANGS)
def test_fixing_a_failed_step(snap_compare, draft, lang) -> None:
    """Back to edit from a failed run: the step's form under a banner that says why and where Next goes."""

    async def back(pilot) -> None:
        pilot.app.edit_step("nginx", "'nginx -t' failed with exit status 1:\nnginx: [emerg] unknown directive "
                                     "\"proxy_pas\" in /etc/nginx/sites-enabled/demo:12")
        await pilot.pause(0.5)

    assert snap_compare(app_for(draft, lang), terminal_size=(80, 24), run_before=back)
