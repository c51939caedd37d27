"""Scheduled jobs and backups without a server: what bad input gets (a clear error naming the field), how a
command reaches systemd, what `check` says of old backups and failed drills, and that a restore starts the app
again whatever happened before."""

from __future__ import annotations

import asyncio
import hashlib
import shlex
import shutil

import pytest
from pydantic import ValidationError

from recipes.backups.step import backup_findings
from recipes.shared.timers import exec_line
from tests.conftest import HOSTILE
from tests.fakes import ScriptedTransport
from wizard.app import registry
from wizard.app.recipefile import RecipeError, parse
from wizard.engine.errors import DeployWizardError
from wizard.engine.step import Context, Ok, Warn
from wizard.engine.transports.base import Result

JOBS = registry.step("jobs").Settings
BACKUPS = registry.step("backups").Settings
SHELL_SYNTAX = set(";&|`$<>\n\r\0")


def recipe(steps: str) -> str:
    return f"version: 1\nname: shop\ntarget: {{host: web1}}\nsteps:\n{steps}"


def test_a_bad_calendar_spec_is_refused_naming_the_field_and_the_job() -> None:
    with pytest.raises(RecipeError) as info:
        parse(recipe("  jobs:\n    commands: {nightly: python manage.py clearsessions}\n"
                     "    schedules: {nightly: 'every night'}\n"))
    text = str(info.value)
    assert "steps.jobs.schedules" in text and "nightly" in text and "every night" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="this machine has no systemd-analyze")
def test_a_spec_only_systemd_can_refuse_is_refused_by_this_machines_systemd() -> None:
    with pytest.raises(ValidationError) as info:
        BACKUPS.model_validate({"schedule": "Mon *-*-* 25:00"})  # the right characters, an hour that is not
    assert "systemd-analyze calendar" in str(info.value)
    assert BACKUPS.model_validate({"schedule": "Mon..Fri *-*-* 02:30"}).schedule == "Mon..Fri *-*-* 02:30"


def test_a_job_without_a_schedule_and_a_schedule_without_a_job_are_refused() -> None:
    with pytest.raises(ValidationError, match="no schedule for the job weekly"):
        JOBS.model_validate({"commands": {"nightly": "true", "weekly": "true"}, "schedules": {"nightly": "daily"}})
    with pytest.raises(ValidationError, match="no schedule for the job nightly"):  # no schedules at all
        JOBS.model_validate({"commands": {"nightly": "true"}})
    with pytest.raises(ValidationError, match="a schedule for monthly, which has no command"):
        JOBS.model_validate({"commands": {}, "schedules": {"monthly": "monthly"}})
    with pytest.raises(ValidationError, match="is not a job name"):
        JOBS.model_validate({"commands": {"Bad-Name": "true"}, "schedules": {"Bad-Name": "daily"}})


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_the_jobs_maps_are_refused_or_stay_plain_words(value: str) -> None:
    """What tests/test_hostile_settings.py does for text fields, for the two maps of the jobs step."""
    try:
        JOBS.model_validate({"commands": {"x": value}, "schedules": {"x": "daily"}})
        accepted = True
    except ValidationError:
        accepted = False
    assert not accepted or (not SHELL_SYNTAX & set(value) and shlex.split(value)), value
    with pytest.raises(ValidationError):
        JOBS.model_validate({"commands": {"x": "true"}, "schedules": {"x": value}})
    with pytest.raises(ValidationError):
        JOBS.model_validate({"commands": {value: "true"}, "schedules": {value: "daily"}})


def test_each_word_reaches_systemd_as_one_argument() -> None:
    line = exec_line(["/usr/bin/env", "python", "-c", "print('50%')", 'say "hi"', "a\\b", "plain-word.py"])
    assert line == ('/usr/bin/env python -c "print(\'50%%\')" "say \\"hi\\"" "a\\\\b" plain-word.py')


def test_check_says_when_the_newest_backup_is_older_than_its_schedule_allows() -> None:
    ctx = Context(app="shop")
    day = 86400
    fresh = {"now": 1764900000, "sets": ["20251205T010000Z-scheduled"], "drill": None}
    [note] = backup_findings(fresh, day, True, ctx)
    assert isinstance(note, Ok) and "is 1.0 h old" in note.reason  # 2025-12-05 01:00Z is 1764896400
    late = {"now": 1764900000 + 2 * day, "sets": ["20251205T010000Z-scheduled"], "drill": None}
    [note] = backup_findings(late, day, True, ctx)
    assert isinstance(note, Warn) and "older than its schedule allows (25.0 h)" in note.text
    assert "journalctl -u shop-backup.service" in note.fix


def test_check_reports_a_failed_drill_with_its_reason() -> None:
    drill = {"result": "failed", "set": "20251205T010000Z-manual", "age": 60, "when": "2025-12-05T01:01:00Z",
             "why": "pg_restore of 20251205T010000Z-manual failed: the dump is damaged or incomplete"}
    notes = list(backup_findings({"now": 1764900000, "sets": ["20251205T010000Z-manual"], "drill": drill},
                                 86400, True, Context(app="shop")))
    assert isinstance(notes[-1], Warn)
    assert notes[-1].text == ("the last restore drill failed at 2025-12-05T01:01:00Z on 20251205T010000Z-manual: "
                              "pg_restore of 20251205T010000Z-manual failed: the dump is damaged or incomplete")


def test_a_restore_starts_the_app_again_after_a_failed_restore() -> None:
    from wizard.app import backups
    from wizard.app.recipefile import parse as parse_recipe

    found = backups.keeper(parse_recipe(recipe(
        "  database: {password: env:X, migrate: django}\n  backups: {}\n")))
    transport = ScriptedTransport(user="root", answer=lambda line: Result(
        1 if "restore.sh 20251205T010000Z-manual" in line else 0, "", "boom"))

    async def go() -> None:
        await transport.connect()
        await backups.restore(transport, found, "20251205T010000Z-manual", lambda line: None)

    with pytest.raises(DeployWizardError, match="the restore of 20251205T010000Z-manual failed"):
        asyncio.run(go())
    steps = [line.split('"$1" ', 1)[1].split()[0].strip("'") for line in transport.sent if "restore.sh" in line]
    assert steps == ["stop", "data", "start"]
    assert not any("manage.py migrate" in line for line in transport.sent)  # no migrations on a failed restore


def test_rollback_names_the_releases_it_went_back_across() -> None:
    from wizard.cli.rollback import left_behind
    from wizard.engine.hooks import Rollback

    assert left_behind(Rollback("c", "a", ["a", "b", "c"])) == ["b", "c"]
    assert left_behind(Rollback("c", "c", ["a", "b", "c"])) == []


def test_a_set_name_from_the_command_line_is_checked_before_connecting() -> None:
    from wizard.app.backups import NoBackupsError, set_name

    assert set_name("/var/backups/deploy-wizard-data/shop/20251205T010000Z-manual/") == "20251205T010000Z-manual"
    for bad in ("latest", "../20251205T010000Z-manual/..", "20251205T010000Z-$(reboot)"):
        with pytest.raises(NoBackupsError, match="--from"):
            set_name(bad)


@pytest.mark.parametrize(("login", "said"), [
    ({"ok": False, "free_kb": None, "error": "Host key verification failed."},
     "backups.offsite_host_key: 10.0.0.7 no longer shows the pinned key"),
    ({"ok": False, "free_kb": None, "error": "backup@10.0.0.7: Permission denied (publickey)."},
     "backups.offsite_key: backup@10.0.0.7 refuses the key"),
    ({"ok": False, "free_kb": None, "error": "df: /srv/backups/shop: No such file or directory"},
     "backups.offsite_target: there is no directory /srv/backups/shop on 10.0.0.7"),
    ({"ok": False, "free_kb": 9961832, "error": "/dev/vda1 20466256 9474040 9961832 49% /"},
     "backups.offsite_target: 10.0.0.7 has no rsync"),
    ({"ok": True, "free_kb": 10240, "error": ""},
     "backups.offsite_target: only 10 MiB free in backup@10.0.0.7:/srv/backups/shop, less than "
     "backups.free_reserve_mb (1024)"),
])
def test_an_off_server_target_that_cannot_take_a_copy_stops_the_plan_naming_the_field(login, said) -> None:
    from recipes.backups.offsite import Place, check_login
    from wizard.engine.step import PlanError

    place = Place.of("backup@10.0.0.7:/srv/backups/shop", 22, "/etc/deploy-wizard/backups/shop")
    with pytest.raises(PlanError) as info:
        check_login(place, login, 1024)
    assert said in str(info.value)


def test_an_off_server_target_is_a_user_a_host_and_an_absolute_path() -> None:
    ok = {"offsite_host_key": "SHA256:" + "a" * 43, "offsite_key": "file:/k"}
    assert BACKUPS.model_validate({"offsite_target": "backup@10.0.0.7:/srv/b", **ok}).offsite_target
    for bad in ("10.0.0.7:/srv/b", "backup@10.0.0.7:srv/b", "backup@10.0.0.7:/srv/../etc", "backup@-oProxy=x:/b",
                "backup@10.0.0.7:/srv/b;reboot", "backup@12345:/srv/b"):
        with pytest.raises(ValidationError) as info:
            BACKUPS.model_validate({"offsite_target": bad, **ok})
        assert info.value.errors()[0]["loc"][0] == "offsite_target", bad


def test_a_restore_from_the_off_server_copy_fetches_first_and_names_the_set_it_brought() -> None:
    from wizard.app import backups
    from wizard.app.recipefile import parse as parse_recipe

    offsite = ("  backups: {offsite_target: 'backup@10.0.0.7:/srv/b', offsite_key: 'env:K', "
               "offsite_host_key: 'SHA256:" + "a" * 43 + "'}\n")
    found = backups.keeper(parse_recipe(recipe("  database: {password: env:X, migrate: django}\n" + offsite)))
    assert backups.offsite_wanted("20251205T010000Z-manual") is None  # a set on the server
    assert backups.offsite_wanted("offsite:latest") == "latest"
    assert backups.offsite_wanted("offsite:20251205T010000Z-manual") == "20251205T010000Z-manual"
    with pytest.raises(backups.NoBackupsError, match="--from"):
        backups.offsite_wanted("offsite:$(reboot)")
    command = backups.fetch_command(found, "latest")
    transport = ScriptedTransport(user="root", answer=lambda line: Result(
        0, "restore: fetching 20251205T010000Z-manual from backup@10.0.0.7:/srv/b\nset=20251205T010000Z-manual\n", ""))

    async def go() -> str:
        await transport.connect()
        return await backups.fetch(transport, command, lambda line: None)

    assert asyncio.run(go()) == "20251205T010000Z-manual"
    assert transport.sent[-1].endswith(" fetch \"$2\"' sh /etc/deploy-wizard/backups/shop/restore.sh latest")
    # a recipe that copies nothing off the server is refused before connecting, saying what to set
    plain = backups.keeper(parse_recipe(recipe("  database: {password: env:X, migrate: django}\n  backups: {}\n")))
    with pytest.raises(backups.NoBackupsError, match="backups.offsite_target"):
        backups.fetch_command(plain, "latest")


def test_a_server_without_sets_beside_a_copy_that_has_some_is_told_to_restore_first() -> None:
    from recipes.backups.offsite import Place, rebuilt_warning

    place = Place.of("backup@10.0.0.7:/srv/backups/shop", 22, "/etc/deploy-wizard/backups/shop")
    said = rebuilt_warning(place, ["20261203T030012Z-scheduled", "20261204T030007Z-scheduled"])
    assert said.text == ("the off-server copy backup@10.0.0.7:/srv/backups/shop holds backup sets (the newest: "
                         "20261204T030007Z-scheduled) and this server none: the first backup here replaces them "
                         "with its own")
    assert "--from offsite:latest" in said.fix


RESTIC_OK = {"offsite_target": "backup@10.0.0.7:/srv/b", "offsite_host_key": "SHA256:" + "a" * 43,
             "offsite_key": "file:/k"}


def test_restic_needs_its_password_and_a_password_needs_restic_naming_the_fields() -> None:
    assert BACKUPS.model_validate({**RESTIC_OK, "offsite_kind": "restic", "offsite_password": "env:P"})
    for bad, field in (({**RESTIC_OK, "offsite_kind": "restic"}, "offsite_password"),
                       ({**RESTIC_OK, "offsite_password": "env:P"}, "offsite_kind: restic"),
                       ({"offsite_kind": "restic", "offsite_password": "env:P"}, "offsite_target"),
                       ({**RESTIC_OK, "offsite_kind": "borg"}, "offsite_kind")):
        with pytest.raises(ValidationError) as info:
            BACKUPS.model_validate(bad)
        assert field in str(info.value), (bad, str(info.value))
    with pytest.raises(ValidationError, match="offsite_password"):
        BACKUPS.model_validate({**RESTIC_OK, "offsite_kind": "restic", "offsite_password": "hunter2"})  # no secret


def _restic_plan(state: dict[str, str] | None, ready: bool = True) -> list[object]:
    from recipes.backups.facts import SecretFile
    from recipes.backups.offsite import Place
    from recipes.backups.restic import ResticRepo, password_file, plan
    from wizard.engine.commands import Secret
    from wizard.engine.facts import FactValues, FileState, PackagesInstalled

    place = Place.of("backup@10.0.0.7:/srv/b", 22, "/etc/deploy-wizard/backups/shop")
    password = Secret("restic password", "s3cret-Pw")
    digest = hashlib.sha256(b"s3cret-Pw\n").hexdigest()
    facts = FactValues({PackagesInstalled(("restic",)).key: {"restic": "0.18.0"},
                        SecretFile(password_file(place)).key: FileState(digest, "600", "root", "root", 10, None),
                        ResticRepo(place.user, place.host, place.port, place.path, place.key_file,
                                   place.known_file).key: state})
    return list(plan(place, password, facts, ready))


def test_a_restic_repository_is_created_once_and_a_wrong_password_stops_the_plan_naming_the_field() -> None:
    from wizard.engine.step import Ok, PlanError, RunCommand

    made = _restic_plan({"state": "absent", "detail": "Fatal: unable to open config file"})
    assert [c.describe() for c in made if isinstance(c, RunCommand)] == [
        "restic -r sftp:backup@10.0.0.7:/srv/b init"]
    assert "s3cret" not in repr(made[-1].command.masked())
    assert isinstance(_restic_plan({"state": "ok", "detail": ""})[-1], Ok)  # nothing to do: 0 changes
    waiting = _restic_plan({"state": "absent", "detail": ""}, ready=False)  # the login is not proven yet
    assert not [c for c in waiting if isinstance(c, RunCommand)]
    with pytest.raises(PlanError, match="backups.offsite_password: the restic repository sftp:backup@10.0.0.7:/srv/b "
                                        "refuses this password"):
        _restic_plan({"state": "password", "detail": "Fatal: wrong password or no key found"})
