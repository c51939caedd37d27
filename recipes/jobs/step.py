"""Step jobs: the app's own commands on a schedule (clear sessions nightly, send a digest hourly) as systemd
timers, run the way the app runs: its user, its live release, its env files, its venv, its sandbox."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from recipes.jobs.meanings import job_meaning
from recipes.shared import sandbox, timers
from recipes.shared.fields import CommandLine
from recipes.shared.web import app_env_files, writable_dirs
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import Change, Check, Context, Ok, Step, StepSettings, Teaching, Warn

_ = translator(__file__)

KIND = "job"


def job_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        timers.job_name(name)
    return value


def job_schedules(value: dict[str, str]) -> dict[str, str]:
    for name, spec in value.items():
        timers.job_name(name)
        try:
            timers.calendar_spec(spec)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return value


class JobsSettings(StepSettings):
    commands: Annotated[dict[str, CommandLine], AfterValidator(job_names)] = Field(
        default_factory=dict, description=(
            "Each job's command, by name: plain words run in the live release with the venv first on PATH "
            "(clearsessions=python manage.py clearsessions)."))
    schedules: Annotated[dict[str, str], AfterValidator(job_schedules)] = Field(
        default_factory=dict, validate_default=True, description=(
            "When each job runs, by the same name: a systemd calendar spec (daily, hourly, Mon *-*-* 03:00, "
            "*:0/15 for every 15 minutes)."))
    timeout: int = Field(60, ge=1, le=1440, description="Minutes a run may take before systemd stops it.")

    @field_validator("schedules")
    @classmethod
    def _same_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        commands = info.data.get("commands")
        if commands is None:  # the commands were refused already
            return value
        missing = sorted(set(commands) - set(value))
        extra = sorted(set(value) - set(commands))
        if missing:
            raise ValueError(_("no schedule for the job {names}: add NAME=calendar for it").format(
                names=", ".join(missing)))
        if extra:
            raise ValueError(_("a schedule for {names}, which has no command").format(names=", ".join(extra)))
        return value


class Jobs(Step):
    name = "jobs"
    order = 750
    title = "Scheduled jobs"
    Settings = JobsSettings
    teaching = Teaching(
        why="Most apps have work to do on a clock: clear expired sessions, send a daily digest, refresh a cache. "
            "Each job here is a systemd timer and a one-shot service, APP-job-NAME, run the way the app runs: as "
            "USER, in the live release (/srv/APP/current), with the app's env files and the venv first on PATH, "
            "in the same sandbox as the app. Why not cron: a timer's run is a unit, so its exit status, its "
            "output and when it ran are in `systemctl status` and the journal; a run missed while the server was "
            "off happens when it is back (Persistent=true); a run never overlaps the one before. The schedule is a "
            "systemd calendar spec, checked by systemd-analyze before it is written. `check` says each job's "
            "last exit status. A job removed from the recipe is stopped and its units deleted.",
        verify=[Check("systemctl list-timers --no-pager 'APP-job-*'",
                      note="each job's timer, when it ran last and when it runs next"),
                Check("systemctl list-units --all --no-pager 'APP-job-*.service'",
                      note="each job's service: failed when its last run failed"),
                Check("sh -c \"! systemctl --failed --no-legend --plain 'APP-job-*' | grep .\"",
                      note="passes when no job's last run failed; a failed one is listed"),
                Check("journalctl -u 'APP-job-*' -n 50 --no-pager", root=True, note="the jobs' output"),
                Check("systemd-analyze calendar 'Mon *-*-* 03:00'",
                      note="how systemd reads a schedule, and when it next elapses")],
        troubleshoot=[
            ("jobs.schedules: ... is not a calendar spec",
             "A schedule is a systemd calendar spec: daily, hourly, weekly, Mon *-*-* 03:00, *-*-* 02:30, *:0/15. "
             "`systemd-analyze calendar 'SPEC'` says how systemd reads one and when it elapses next."),
            ("the last run ... failed",
             "`sudo journalctl -u APP-job-NAME.service -n 50` shows its output. Run it again by hand with "
             "`sudo systemctl start APP-job-NAME.service` (it waits until the run ends), or the same command with "
             "`deploy-wizard run <recipe file> -- COMMAND`."),
            ("OSError: [Errno 30] Read-only file system",
             "A job runs in the app's sandbox: it may write its uploads directory (MEDIA_ROOT) and its own /tmp, "
             "nothing else on disk. Write to the database, or to MEDIA_ROOT."),
            ("the job never runs",
             "`systemctl list-timers 'APP-job-*'` shows NEXT and LAST; an empty NEXT means the timer is not "
             "started: apply again, or `sudo systemctl enable --now APP-job-NAME.timer`."),
        ],
    )

    def _items(self, s: JobsSettings, ctx: Context) -> list[timers.Timed]:
        path = f"PATH={ctx.venv}/bin:/usr/local/bin:/usr/bin:/bin"
        return [timers.Timed(
            base=timers.unit_base(ctx.app, KIND, name),
            description=f"job {name} of {ctx.app}: {shlex.join(shlex.split(command))}"[:200].replace("%", "%%"),
            calendar=s.schedules[name],
            exec_start=timers.exec_line(["/usr/bin/env", *shlex.split(command)]),
            user=ctx.user, working_dir=ctx.current, env_files=tuple(app_env_files(ctx)),
            environment=(path, f"HOME={ctx.home}"), sandbox=sandbox.unit_lines(writable_dirs(ctx)),
            timeout=f"{s.timeout}min") for name, command in sorted(s.commands.items())]

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, JobsSettings)
        return [job_meaning(name, shlex.join(shlex.split(command)), ctx.user, timers.unit_base(ctx.app, KIND, name))
                for name, command in sorted(settings.commands.items())]

    def facts(self, s: JobsSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield from timers.unit_facts(self._items(s, ctx))
        yield timers.ManagedUnits(ctx.app, KIND)
        if s.schedules:
            yield timers.CalendarCheck(tuple(sorted(set(s.schedules.values()))))

    def plan(self, s: JobsSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        items = self._items(s, ctx)
        if s.schedules:
            timers.refuse_bad_specs(facts[timers.CalendarCheck(tuple(sorted(set(s.schedules.values()))))],
                                    {spec: f"jobs.schedules.{name}" for name, spec in s.schedules.items()})
        yield from timers.install(ctx.app, items, facts, _("run {name} {calendar}"))
        yield from timers.remove_stale(ctx.app, KIND, [i.base for i in items],
                                       facts[timers.ManagedUnits(ctx.app, KIND)])
        for name, item in zip(sorted(s.commands), items, strict=True):
            note = timers.last_run_note(item.base, facts[timers.TimerState(item.base)],
                                        _("job {name}").format(name=name))
            if note is not None:
                yield note
        if not items:
            yield Ok(_("no scheduled jobs"))
