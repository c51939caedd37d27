"""Scheduled jobs and backups without a server: what bad input gets (a clear error naming the field), how a
command reaches systemd, what `check` says of old backups and failed drills, and that a restore starts the app
again whatever happened before."""

from __future__ import annotations

import asyncio
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
    from wizard.engine.step import Rollback

    assert left_behind(Rollback("c", "a", ["a", "b", "c"])) == ["b", "c"]
    assert left_behind(Rollback("c", "c", ["a", "b", "c"])) == []


def test_a_set_name_from_the_command_line_is_checked_before_connecting() -> None:
    from wizard.app.backups import NoBackupsError, set_name

    assert set_name("/var/backups/deploy-wizard-data/shop/20251205T010000Z-manual/") == "20251205T010000Z-manual"
    for bad in ("latest", "../20251205T010000Z-manual/..", "20251205T010000Z-$(reboot)"):
        with pytest.raises(NoBackupsError, match="--from"):
            set_name(bad)
