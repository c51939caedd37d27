"""One rule for secrets: an apply reads every secret reference of the recipe before it connects, so a missing one
is bad input (exit 2) before anything changed; plans and checks may read secrets here and compare hashes, but
never send one; and an interactive apply asks the sudo password once, not once per connection."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes import ScriptedTransport
from tests.test_step_cases import CASES, context, fact_values
from wizard.app import registry
from wizard.app.recipefile import parse
from wizard.app.session import Questions, make_transport, run_recipe, secret_refs
from wizard.cli import main
from wizard.engine.commands import Masker, Secret, cmd
from wizard.engine.events import Event, Notice
from wizard.engine.facts import Fact
from wizard.engine.runner import Runner
from wizard.engine.secrets import SecretError
from wizard.engine.step import PlanError, Step, StepSettings, Teaching
from wizard.engine.transports.base import Result, SecretRefused, SudoMode

RECIPE = """version: 1
name: shop
target: {host: 192.0.2.10, sudo_password: 'env:DW_T_SUDO'}
steps:
  os_updates: {}
  deploy_user: {name: shop}
  database: {password: 'env:DW_T_DB'}
  app_server: {module: 'app:app', secret_env: {API_TOKEN: 'env:DW_T_TOKEN'}}
"""


def test_every_reference_is_found_with_the_label_its_step_asks_with() -> None:
    labels = [(label, ref) for label, ref, _spec, _settings in secret_refs(parse(RECIPE))]
    assert labels == [("target.sudo_password", "env:DW_T_SUDO"), ("database.password", "env:DW_T_DB"),
                      ("app_server.secret_env.API_TOKEN", "env:DW_T_TOKEN")]


class Counted(ScriptedTransport):
    connected = 0

    async def _open(self) -> None:
        Counted.connected += 1


@pytest.mark.parametrize("missing", ["DW_T_SUDO", "DW_T_DB", "DW_T_TOKEN"])
async def test_an_apply_with_a_missing_secret_stops_before_it_connects(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path, missing: str) -> None:
    for name in ("DW_T_SUDO", "DW_T_DB", "DW_T_TOKEN"):
        if name != missing:
            monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.delenv(missing, raising=False)
    Counted.connected = 0
    events: list[Event] = []
    with pytest.raises(SecretError, match=f"environment variable {missing} is not set") as info:
        await run_recipe(parse(RECIPE), "apply", events.append, Questions(), transport_factory=Counted)
    assert info.value.exit_code == 2
    assert Counted.connected == 0  # nothing on the server was touched, not even a login
    assert not list((Path(os.environ["XDG_STATE_HOME"]) / "deploy-wizard" / "journal").glob("*.jsonl"))


async def test_an_apply_reads_every_secret_first_and_says_what_it_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DW_T_SUDO", "DW_T_DB", "DW_T_TOKEN"):
        monkeypatch.setenv(name, f"value-of-{name}")
    events: list[Event] = []

    def stop_at_connect() -> ScriptedTransport:
        class Stop(ScriptedTransport):
            async def _open(self) -> None:
                raise SecretError("stop here")  # any error: the run is over, what was read is what matters
        return Stop()

    with pytest.raises(SecretError, match="stop here"):
        await run_recipe(parse(RECIPE), "apply", events.append, Questions(), transport_factory=stop_at_connect)
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "secret target.sudo_password: read from the environment variable DW_T_SUDO",
        "secret database.password: read from the environment variable DW_T_DB",
        "secret app_server.secret_env.API_TOKEN: read from the environment variable DW_T_TOKEN"]


def test_the_cli_says_a_missing_database_password_with_exit_2_before_connecting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing is dialled: connecting would fail the test."""
    monkeypatch.setenv("DW_T_SUDO", "sudo-value")
    monkeypatch.setenv("DW_T_TOKEN", "token-value")
    monkeypatch.delenv("DW_T_DB", raising=False)
    monkeypatch.setattr("wizard.cli.run.must_ask", lambda yes, refusal: not yes)  # as on a terminal
    async def dialled(self: object) -> None:
        raise AssertionError("connected before every secret was read")

    monkeypatch.setattr("wizard.engine.transports.base.Transport.connect", dialled)
    recipe = tmp_path / "shop.yaml"
    recipe.write_text(RECIPE)
    for argv in (["apply", str(recipe), "--yes"], ["apply", str(recipe)]):  # the run; the plan before the question
        assert main(argv) == 2
        assert "database.password: environment variable DW_T_DB is not set" in capsys.readouterr().err


# -- plans and checks never send a secret ---------------------------------------------------------------------

class SecretFact(Fact):
    """A (wrong) fact that would ask the server about a secret instead of comparing a hash here."""

    kind = "secret-fact"

    def __init__(self, secret: Secret) -> None:
        self.secret = secret

    @property
    def key(self) -> str:
        return "secret-fact"

    def command(self) -> Any:
        return cmd("grep", "-q", self.secret, "/etc/shadow")

    def parse(self, out: str, status: int) -> bool:
        return status == 0


class AsksWithASecret(Step):
    name = "asks_with_a_secret"
    title = "asks"
    Settings = StepSettings
    teaching = Teaching(why="test")

    def facts(self, s, known, ctx):
        yield SecretFact(ctx.secret("env:X", "asks.password"))

    def plan(self, s, facts, ctx):
        return iter(())


async def test_a_plan_refuses_a_fact_that_carries_a_secret_and_sends_nothing() -> None:
    from wizard.engine.step import Context

    transport = ScriptedTransport()
    await transport.connect()
    ctx = replace(Context(), secrets=lambda ref, label: Secret(label, "pw-5x7q"))
    runner = Runner(transport, [(AsksWithASecret(), StepSettings())], lambda e: None, ctx=ctx)
    result = await runner.plan()
    assert not result.ok and "the fact secret-fact would send a secret" in (result.error or "")
    assert transport.sent == []
    assert transport.sealed is False  # sealed for the plan only


async def test_a_sealed_transport_refuses_secrets_and_uploads() -> None:
    transport = ScriptedTransport(user="root")
    await transport.connect()
    transport.sealed = True
    with pytest.raises(SecretRefused, match=r"grep -q \*\*\* /etc/shadow"):
        await transport.run(cmd("grep", "-q", Secret("pw", "pw-5x7q"), "/etc/shadow"))
    with pytest.raises(SecretRefused, match="/etc/app.env was not uploaded"):
        await transport.put(b"A=1\n", "/etc/app.env")
    assert (await transport.run(cmd("true"))).ok  # what only reads goes
    assert transport.sent == ["true"]


def _secret_cases() -> list[tuple[str, dict[str, Any]]]:
    """The step cases with secrets, and an app server case given a secret env (its env file holds the secret)."""
    found = []
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        if "secrets" in (case.get("context") or {}):
            found.append((f"{path.parent.name}/{path.stem}", case))
    app = yaml.safe_load((CASES[0].parent.parent / "app_server" / "env_changed_restarts.yaml").read_text())
    app["settings"]["secret_env"] = {"API_TOKEN": "env:DW_T_TOKEN"}
    app["context"]["secrets"] = {"env:DW_T_TOKEN": "tok-3k9v-unique"}
    found.append(("app_server/env_changed_restarts+secret_env", app))
    return found


SECRET_CASES = _secret_cases()


@pytest.mark.parametrize(("name", "case"), SECRET_CASES, ids=[name for name, _case in SECRET_CASES])
def test_what_a_plan_sends_never_holds_a_secret(name: str, case: dict[str, Any]) -> None:
    """A plan sends only its facts' commands; for steps with secrets, none carries one or its text, while the
    plan itself did use the secret (it compared it, here)."""
    step = registry.step(name.partition("/")[0])
    settings = step.Settings.model_validate(case.get("settings") or {})
    read: list[str] = []
    ctx = context(case)
    ask = ctx.secrets
    assert ask is not None

    def reading(ref: str, label: str) -> Secret:
        read.append(label)
        return ask(ref, label)

    ctx = replace(ctx, secrets=reading, others={**ctx.others, step.name: settings})
    values = [str(v) for v in case["context"]["secrets"].values()]
    known = fact_values(case.get("facts") or {})
    facts = list(step.facts(settings, known, ctx))
    if "error" not in case:
        list(step.plan(settings, known, ctx))
    else:
        with pytest.raises(PlanError):
            list(step.plan(settings, known, ctx))
    assert facts and read, "the case must make the plan read its secret"
    for fact in facts:
        command = fact.command()
        assert not command.secrets(), fact
        assert not [v for v in values if v in command.shell() or v in (command.stdin_text() or "")], fact


def test_there_are_secret_cases_of_the_steps_that_hold_secrets() -> None:
    assert {name.partition("/")[0] for name, _case in SECRET_CASES} >= {"database", "app_server"}


# -- the sudo password is asked once per login ----------------------------------------------------------------

async def test_apply_asks_the_sudo_password_once_for_its_plan_and_its_run() -> None:
    asked: list[str] = []

    async def sudo_password(prompt: str) -> str | None:
        asked.append(prompt)
        return "right"

    questions = Questions(sudo_password=sudo_password)
    recipe = parse("version: 1\nname: shop\ntarget: {host: web1.example.com, user: ops}\n")
    for _connection in ("plan", "apply"):
        callback = make_transport(recipe, questions, Masker()).password_callback
        server = ScriptedTransport(user="ops", sudo=SudoMode.PASSWORD, password_callback=callback)
        await server.connect()
        await server.run(cmd("apt-get", "update"))
    assert asked == ["sudo password for ops@target"]


async def test_a_remembered_password_sudo_refuses_is_asked_again() -> None:
    asked: list[str] = []

    async def sudo_password(prompt: str) -> str | None:
        asked.append(prompt)
        return "new"

    class Server(ScriptedTransport):
        async def _exec(self, command_line, stdin, on_output, timeout):
            if command_line.startswith("sudo -S -p '' -k -v"):
                return Result(0 if stdin == "new\n" else 1, "", "")
            return await super()._exec(command_line, stdin, on_output, timeout)

    questions = Questions(sudo_password=sudo_password, sudo_memory={"ops@web1.example.com:22": "old"})
    recipe = parse("version: 1\nname: shop\ntarget: {host: web1.example.com, user: ops}\n")
    server = Server(user="ops", sudo=SudoMode.PASSWORD,
                    password_callback=make_transport(recipe, questions, Masker()).password_callback)
    await server.connect()
    await server.run(cmd("true", root=True))
    assert asked == ["sudo password for ops@target (try again)"]  # "old" was tried first, silently
    assert questions.sudo_memory == {"ops@web1.example.com:22": "new"}
