"""The workers and redis steps without a server: bad input refused naming the field (the recipe file, the form's
text, `--set`), the unit a worker gets, and a rollback that moves the workers only after the web's switch.

Their effects on a real server are proven in tests/live/test_workers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.redis.step import RedisSettings
from recipes.workers.step import Workers, WorkersSettings
from tests.fakes import ScriptedTransport
from wizard.app.recipefile import RecipeError, load, with_overrides
from wizard.app.rollback import rollback
from wizard.engine.errors import DeployWizardError
from wizard.engine.options import field_specs, validate
from wizard.engine.step import Context
from wizard.engine.transports.base import Result

RECIPE = """version: 1
name: shop
target: {{host: 10.0.0.5, user: admin}}
steps:
  deploy_user: {{name: shop}}
  code: {{repo: "https://example.com/shop.git"}}
  app_server: {{module: "shop.wsgi:application"}}
  workers:
{workers}
"""


def errors(values: dict[str, object], model: type = WorkersSettings) -> dict[str, str]:
    return validate(model, values)[1]


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"processes": {"Mail": "rq worker"}}, "processes", "'Mail' is not a worker name"),
    ({"processes": {"mail-out": "rq worker"}}, "processes", "no -, which would mix with another app's unit names"),
    ({"processes": {"mail": "rq worker; reboot"}}, "processes", "the command of worker mail holds shell syntax (';')"),
    ({"processes": {"mail": "rq worker > /tmp/log"}}, "processes", "shell syntax ('>')"),
    ({"processes": {"mail": "sh -c 'rq worker'"}}, "processes", "shell syntax"),
    ({"processes": {"mail": "rq worker $QUEUE"}}, "processes", "shell syntax ('$')"),
    ({"processes": {"mail": "--help"}}, "processes", "must start with a program, not '--help'"),
    ({"processes": {"mail": "A=1 rq worker"}}, "processes", "must start with a program"),
    ({"processes": {"mail": "rq"}, "instances": {"mail": 0}}, "instances", "mail: 0 is out of range (1 to 32)"),
    ({"processes": {"mail": "rq"}, "instances": {"mail": 33}}, "instances", "out of range (1 to 32)"),
    ({"processes": {"mail": "rq"}, "instances": {"beat": 2}}, "instances",
     "'beat' is not one of the workers under processes (mail)"),
    ({"processes": {"mail": "rq"}, "stop_timeout": {"mail": 0}}, "stop_timeout", "out of range (1 to 3600)"),
])
def test_bad_input_is_refused_naming_the_field(values: dict[str, object], field: str, words: str) -> None:
    found = errors(values)
    assert words in found.get(field, ""), found


def test_counts_of_a_refused_worker_list_say_nothing_more() -> None:
    found = errors({"processes": {"a": "rq worker | tee"}, "instances": {"a": 2}})
    assert "shell syntax" in found["processes"] and "instances" not in found


def test_a_plain_command_is_accepted_and_written_for_systemd() -> None:
    settings = WorkersSettings(processes={"default": "celery -A shop worker -Q high,default --loglevel=INFO"},
                               instances={"default": 3}, stop_timeout={"default": 90})
    ctx = Context(app="shop", user="shop", others={"workers": settings}, steps={"workers": Workers()})
    unit = Workers()._unit_text(settings, ctx, "default")
    assert "ExecStart=/usr/bin/env celery -A shop worker -Q high,default --loglevel=INFO\n" in unit
    assert "KillSignal=SIGTERM\nTimeoutStopSec=90\n" in unit
    assert "KillMode=mixed\n" in unit and "WorkingDirectory=/srv/shop/current\n" in unit
    assert "User=shop\n" in unit and "EnvironmentFile=-/srv/shop/shared/env/app.env\n" in unit
    assert "ProtectSystem=strict\n" in unit  # the app server's sandbox


def test_a_percent_sign_reaches_the_program_as_it_is() -> None:
    settings = WorkersSettings(processes={"report": "python report.py --format=%Y"})
    ctx = Context(app="shop", user="shop", others={"workers": settings}, steps={"workers": Workers()})
    assert "ExecStart=/usr/bin/env python report.py --format=%%Y\n" in Workers()._unit_text(settings, ctx, "report")


def test_a_worker_name_given_twice_in_the_form_is_refused() -> None:
    spec = next(s for s in field_specs(WorkersSettings) if s.name == "processes")
    assert spec.parse("default=rq worker, beat=python beat.py") == {"default": "rq worker", "beat": "python beat.py"}
    with pytest.raises(ValueError, match="default is given twice"):
        spec.parse("default=rq worker, default=python other.py")


def test_a_worker_name_given_twice_in_the_recipe_file_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(RECIPE.format(workers="    processes:\n      default: rq worker\n      default: rq worker x\n"))
    with pytest.raises(RecipeError, match="default"):
        load(path)


def test_set_is_read_like_the_form(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(RECIPE.format(workers="    processes: {default: rq worker}\n"))
    recipe = with_overrides(load(path), ["workers.instances=default=4"])
    assert recipe.steps.workers.instances == {"default": 4}
    with pytest.raises(RecipeError, match="shell syntax"):
        with_overrides(load(path), ["workers.processes=default=rq worker | tee log"])


def test_workers_need_the_code_step(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(RECIPE.format(workers="    processes: {default: rq worker}\n").replace(
        '  code: {repo: "https://example.com/shop.git"}\n', ""))
    with pytest.raises(RecipeError, match="needs “Code"):
        load(path)


@pytest.mark.parametrize(("values", "words"), [
    ({"password": "hunter2"}, "a secret must be a reference"),
    ({"password": "env:REDIS_PASSWORD", "maxmemory": "1TB"}, "not a memory size"),
    ({"password": "env:REDIS_PASSWORD", "maxmemory": "0mb"}, "not a memory size"),
    ({"password": "env:REDIS_PASSWORD", "maxmemory_policy": "lru"}, "noeviction"),
    ({"password": "env:REDIS_PASSWORD", "port": 80}, "greater than or equal to 1024"),
])
def test_redis_bad_input_is_refused(values: dict[str, object], words: str) -> None:
    found = errors(values, RedisSettings)
    assert any(words in message for message in found.values()), found


def rollback_recipe(tmp_path: Path) -> object:
    path = tmp_path / "shop.yaml"
    path.write_text(RECIPE.format(workers="    processes: {default: rq worker, beat: python beat.py}\n"
                                          "    instances: {default: 2}\n"))
    return load(path)


@pytest.fixture
def switched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The code step's rollback stood in for: it sends the web's switch and reports b -> a."""
    from recipes.code.step import Code
    from wizard.engine.commands import cmd
    from wizard.engine.hooks import Rollback

    async def fake(self: object, transport: ScriptedTransport, settings: object, ctx: Context,
                   to: str | None, say: object = None) -> Rollback:
        await transport.run(cmd("switch-the-web-to", "aaaa"))
        return Rollback("bbbb", "aaaa", ["aaaa", "bbbb"])

    monkeypatch.setattr(Code, "rollback", fake)
    return []


async def test_a_rollback_restarts_the_workers_after_the_web_switched(tmp_path: Path, switched: list[str]) -> None:
    transport = ScriptedTransport()
    await transport.connect()
    done = await rollback(transport, rollback_recipe(tmp_path))
    assert done.moved == ["Background workers"]
    web = next(i for i, line in enumerate(transport.sent) if "switch-the-web-to" in line)
    workers = next(i for i, line in enumerate(transport.sent) if "systemctl restart" in line)
    assert web < workers
    assert "shop-worker-beat@1.service shop-worker-default@1.service shop-worker-default@2.service" in \
        transport.sent[workers]


async def test_workers_that_fail_to_follow_are_said_with_the_live_release(tmp_path: Path, switched: list[str]) -> None:
    def answer(line: str) -> Result:
        return Result(1, "", "Job for shop-worker-beat@1.service failed") if "restart" in line else Result(0, "", "")

    transport = ScriptedTransport(answer=answer)
    await transport.connect()
    with pytest.raises(DeployWizardError, match="release aaaa serves the site, but Background workers did not "
                                                "follow it: .*shop-worker-beat@1.service failed"):
        await rollback(transport, rollback_recipe(tmp_path))


def test_logs_of_a_worker_are_its_instances_journal(tmp_path: Path) -> None:
    from wizard.app.logs import LogsError, source_of

    recipe = rollback_recipe(tmp_path)
    assert source_of(recipe, "worker beat").units == ("shop-worker-beat@*.service",)
    with pytest.raises(LogsError, match="worker default, worker beat|worker beat, worker default"):
        source_of(recipe, "worker mailer")


def test_deploy_ref_moves_the_workers_too(tmp_path: Path) -> None:
    from wizard.app.deploy import release_steps

    assert release_steps(rollback_recipe(tmp_path)) == ("code", "app_server", "workers")
