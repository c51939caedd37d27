"""Step backups: the database and the uploads dumped on a schedule, kept in rotation, and proven by a restore
drill; `deploy-wizard backup` and `deploy-wizard restore` use the same scripts.

Why scripts on the server, rendered here: a timer runs them when nobody is connected, so they must stand on
their own. They are small, run as root (pg_dump as postgres, tar as the app user), live in a root-only
directory, and every value in them is a validated setting written as a shell-quoted assignment at the top.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from recipes.backups import offsite, restic
from recipes.backups.facts import BackupState, set_time
from recipes.backups.meanings import dump_meaning, timer_meaning
from recipes.shared import sandbox, timers
from recipes.shared.common import DirSpec, dir_facts, ensure_dirs
from recipes.shared.data import database, migrator
from recipes.shared.web import media_root, static_files
from wizard.engine.backups import RestorePlan
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    Step,
    StepSettings,
    Teaching,
    Warn,
    file_change,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import SecretRef

_ = translator(__file__)
render = renderer(__file__)

SCRIPTS = ("backup.sh", "drill.sh", "restore.sh")
GRACE = 3600  # seconds a scheduled backup may be late (RandomizedDelaySec, a long dump) before check says so


def script_dir(ctx: Context) -> str:
    return f"/etc/deploy-wizard/backups/{ctx.app}"


def data_dir(ctx: Context) -> str:
    """Root's only (0700): the dumps hold every row of the app, passwords' hashes included."""
    return f"/var/backups/deploy-wizard-data/{ctx.app}"


class BackupsSettings(StepSettings):
    schedule: Annotated[str, AfterValidator(timers.calendar_spec)] = Field("daily", description=(
        "When a backup is taken: a systemd calendar spec (daily, *-*-* 03:00, hourly)."))
    media: bool = Field(True, description="Also keep a snapshot of the uploads (the media directory).")
    keep_daily: int = Field(7, ge=1, le=366, description="Keep every backup of this many most recent days.")
    keep_weekly: int = Field(4, ge=0, le=260, description=(
        "And the newest backup of each of this many most recent weeks."))
    free_reserve_mb: int = Field(1024, ge=0, le=1048576, description=(
        "MiB that must stay free beside a new backup; with less, the backup fails and says so."))
    drill: bool = Field(True, description=(
        "Prove the newest backup on a schedule: restore it into a scratch database and compare its rows."))
    drill_schedule: Annotated[str, AfterValidator(timers.calendar_spec)] = Field("weekly", description=(
        "When the restore drill runs: a systemd calendar spec."))
    offsite_target: Annotated[str, AfterValidator(offsite.target)] | None = Field(None, description=(
        "Copy every backup off the server, with rsync over SSH, to user@host:/path (empty = no copy)."))
    offsite_port: int = Field(22, ge=1, le=65535, description="The SSH port of that host.")
    offsite_host_key: Annotated[str, AfterValidator(offsite.fingerprint)] | None = Field(None, description=(
        "That host's SSH key, pinned: its SHA256 fingerprint (ssh-keygen -lf on that host)."))
    offsite_key: SecretRef | None = Field(None, description=(
        "The private key the server logs in there with (file:/path or env:NAME); its public key goes in that "
        "user's authorized_keys."))
    offsite_kind: Literal["rsync", "restic"] = Field("rsync", description=(
        "How the copy is kept there: rsync (the sets as they are here) or restic (an encrypted repository, over "
        "sftp)."))
    offsite_password: SecretRef | None = Field(None, description=(
        "restic only: the repository's password (file:/path or env:NAME); without it the copy cannot be read."))

    @model_validator(mode="after")
    def _offsite_complete(self) -> BackupsSettings:
        if self.offsite_target and not (self.offsite_host_key and self.offsite_key):
            raise ValueError(_("offsite_target needs offsite_host_key (the host's pinned key) and offsite_key (the "
                               "key the server logs in with)"))
        if self.offsite_kind == "restic" and not (self.offsite_target and self.offsite_password):
            raise ValueError(_("offsite_kind: restic needs offsite_target (where the repository is) and "
                               "offsite_password (its password, a secret reference)"))
        if self.offsite_password and self.offsite_kind != "restic":
            raise ValueError(_("offsite_password is the restic repository's password: set offsite_kind: restic, "
                               "or leave it out"))
        return self

    def place(self, ctx: Context) -> offsite.Place | None:
        return offsite.Place.of(self.offsite_target, self.offsite_port, script_dir(ctx)) if self.offsite_target \
            else None


class Backups(Step):
    name = "backups"
    order = 450  # before the database step: its migrations take a dump with the script written here
    title = "Backups"
    Settings = BackupsSettings
    teaching = Teaching(
        why="A backup you have never restored is a hope, not a backup. A timer (APP-backup) dumps the database "
            "(pg_dump -Fc, or mariadb-dump --single-transaction: one consistent moment, while the app keeps "
            "running) and, beside it, a snapshot of the uploads, into BACKUP_DIR (root's only, files 0600, "
            "compressed). Before it starts it checks the free space; it writes into a temporary directory, reads "
            "the whole dump back and counts each table's rows from it, and only then renames it into place, so a "
            "failed or cut-off dump is reported and never kept as a backup. Rotation keeps every backup of the "
            "last days and the newest of each of the last weeks, the dumps taken before migrations included (each "
            "release's migrations take one first). A second timer (APP-drill) restores the newest backup into a "
            "scratch database and compares every table's rows with the counts taken with the dump; it fails on a "
            "damaged dump and on a dump of an empty database, and `check` says when the newest backup is older "
            "than the schedule allows or the last drill failed. `deploy-wizard backup` takes one now; "
            "`deploy-wizard restore --from SET` stops the app, restores, runs the migrations and starts it again.",
        verify=[Check("ls -l BACKUP_DIR", root=True, note="the backup sets, newest last: each a directory, 0700"),
                Check("systemctl list-timers --no-pager APP-backup.timer APP-drill.timer",
                      note="when the backup and the drill ran last and run next"),
                Check("sh -c '! [ -e BACKUP_DIR/drill.status ] || grep \"^ok \" BACKUP_DIR/drill.status'", root=True,
                      note="the last drill: ok, the set, its age in seconds, when (fails when the last drill failed; "
                           "passes before the first)"),
                Check("journalctl -u APP-backup.service -u APP-drill.service -n 30 --no-pager", root=True,
                      note="what the last backups and drills said")],
        troubleshoot=[
            ("backup: FAILED: not enough free space",
             "The dump needs about the database's size plus the uploads, and backups.free_reserve_mb must stay "
             "free: free space (`df -h /var/backups`), lower keep_daily/keep_weekly, or lower free_reserve_mb."),
            ("drill: FAILED: pg_restore of ... failed",
             "The newest dump is damaged or incomplete: take a new one (`deploy-wizard backup <recipe file>`) and "
             "read why the last ones broke: `sudo journalctl -u APP-backup.service`. Then run the drill again: "
             "`deploy-wizard backup <recipe file> --drill`, or `sudo systemctl start APP-drill.service` (it waits "
             "until it ends) and `sudo cat BACKUP_DIR/drill.status`."),
            ("drill: FAILED: the dump holds no rows",
             "The database was empty when it was dumped: a backup of nothing proves nothing. Is DATABASE_URL the "
             "database the app really writes?"),
            ("the newest backup is ... old",
             "The timer did not run or the backup failed: `systemctl status APP-backup.service`, "
             "`sudo journalctl -u APP-backup.service -n 50`."),
            ("the server was lost",
             "Apply the same recipe (the same backups.offsite_target) to a new server, then `deploy-wizard restore "
             "<recipe file> --from offsite:latest`: it brings the newest set back from the off-server copy, checks "
             "that it reads, and restores it. The new server's backups do not remove the old server's sets there: "
             "restic's copy only adds snapshots and thins them by date, and an rsync copy keeps the sets this "
             "server never had (listed in BACKUP_DIR/.offsite-foreign; the backup's journal says so) until you "
             "remove them there by hand. An rsync copy is read back as it is, unauthenticated: for rebuilds, "
             "offsite_kind: restic (its repository is authenticated by its password) is the safer copy."),
            ("the restic repository ... refuses this password",
             "backups.offsite_password is not the password the repository was made with: set the right one and "
             "apply again. A changed password is written beside the working one (restic_password.new), checked "
             "with `restic cat config`, and only then put in place, so a refused one changes nothing on the "
             "server and the nightly copies keep working with the old one. To change the repository's password, "
             "add it there first (`restic key add`), then set it here. Without the right password the copy "
             "cannot be read: keep it somewhere other than the server."),
            ("the site shows the maintenance page after a restore",
             "`deploy-wizard restore` turns maintenance mode on (with nginx in the recipe) while the app is stopped, "
             "and off once it runs again; a restore that was cut off leaves it on: `deploy-wizard maintenance "
             "<recipe file> off`."),
        ],
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        return {"BACKUP_DIR": data_dir(ctx)}

    # ------------------------------------------------------------------ what is backed up
    def _media(self, s: BackupsSettings, ctx: Context) -> str:
        static = static_files(ctx)
        return media_root(ctx) if s.media and static is not None and static.media else ""

    def _conf(self, s: BackupsSettings, ctx: Context) -> str:
        db = database(ctx)
        values = {"APP": ctx.app, "APP_USER": ctx.user, "ENGINE": db.engine if db else "none",
                  "DB": db.db_name(ctx) if db else "", "MEDIA": self._media(s, ctx), "DIR": data_dir(ctx),
                  "CURRENT": ctx.current, "KEEP_DAILY": str(s.keep_daily), "KEEP_WEEKLY": str(s.keep_weekly),
                  "RESERVE_MB": str(s.free_reserve_mb), **self._offsite_conf(s, ctx)}
        return "\n".join(f"{name}={shlex.quote(value)}" for name, value in values.items())

    def _offsite_conf(self, s: BackupsSettings, ctx: Context) -> dict[str, str]:
        place = s.place(ctx)
        if place is None:
            return {}
        return restic.conf(place) if s.offsite_kind == "restic" else place.conf()

    def _scripts(self, s: BackupsSettings, ctx: Context) -> dict[str, str]:
        conf = self._conf(s, ctx)
        return {f"{script_dir(ctx)}/{name}": render(f"{name}.j2", conf=conf, app=ctx.app,
                                                           offsite=s.offsite_kind if s.offsite_target else "")
                for name in SCRIPTS}

    def _items(self, s: BackupsSettings, ctx: Context) -> list[timers.Timed]:
        lines = root_sandbox(data_dir(ctx))
        backup = timers.Timed(f"{ctx.app}-backup", f"backup of {ctx.app}", s.schedule,
                              timers.exec_line(["/bin/sh", f"{script_dir(ctx)}/backup.sh", "scheduled"]), "root",
                              sandbox=lines, timeout="6h", nice=10)
        items = [backup]
        if s.drill:
            items.append(timers.Timed(f"{ctx.app}-drill", f"restore drill of {ctx.app}'s newest backup",
                                      s.drill_schedule, timers.exec_line(["/bin/sh", f"{script_dir(ctx)}/drill.sh"]),
                                      "root", sandbox=lines, timeout="6h", nice=10))
        return items

    def _specs(self, s: BackupsSettings) -> dict[str, str]:
        specs = {s.schedule: "backups.schedule"}
        if s.drill:
            specs.setdefault(s.drill_schedule, "backups.drill_schedule")
        return specs

    # ------------------------------------------------------------------ plan
    def facts(self, s: BackupsSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield from dir_facts(self._dirs(ctx))
        for path in self._scripts(s, ctx):
            yield FileInfo(path)
        yield from timers.unit_facts(self._items(s, ctx))
        yield timers.CalendarCheck(tuple(sorted(self._specs(s))))
        yield BackupState(data_dir(ctx))
        if not s.drill:
            yield FileInfo(timers.unit_paths(f"{ctx.app}-drill")[1])
        place = s.place(ctx)
        if place is not None:
            yield from offsite.facts(place, s.offsite_host_key or "", self._packages(s))
            if s.offsite_kind == "restic":
                yield from restic.facts(place)

    def _dirs(self, ctx: Context) -> list[DirSpec]:
        return [DirSpec(script_dir(ctx), "root", "root", "700"), DirSpec(data_dir(ctx), "root", "root", "700")]

    def plan(self, s: BackupsSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        if database(ctx) is None and not self._media(s, ctx):
            raise PlanError(_("backups: this recipe has no database step and no uploads (static.media) to back "
                              "up"))
        calendar = facts[timers.CalendarCheck(tuple(sorted(self._specs(s))))]
        timers.refuse_bad_specs(calendar, {spec: label for spec, label in self._specs(s).items()})
        yield from ensure_dirs(self._dirs(ctx), facts)
        for path, text in self._scripts(s, ctx).items():
            yield from file_change(_("write {path}").format(path=path), path, text, facts[FileInfo(path)],
                                   mode="0700", check=sh('sh -n "$1"', path, display=f"sh -n {path}"))
        place = s.place(ctx)
        if place is not None and s.offsite_host_key and s.offsite_key:
            yield from self._plan_offsite(s, place, facts, ctx)
        items = self._items(s, ctx)
        yield from timers.install(ctx.app, items, facts, _("run {name} {calendar}"))
        if not s.drill and facts[FileInfo(timers.unit_paths(f"{ctx.app}-drill")[1])] is not None:
            yield from timers.remove_stale(ctx.app, "drill", [], [f"{ctx.app}-drill"])
        for item in items:
            note = timers.last_run_note(item.base, facts[timers.TimerState(item.base)], f"{item.base}.service")
            if note is not None:
                yield note
        period = calendar.get(s.schedule, {}).get("period") or 86400
        yield from backup_findings(facts[BackupState(data_dir(ctx))], int(period), s.drill, ctx)

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """A dump on a timer that reads back, however it was set up (recipes/backups/meanings.py); a recipe
        without a database (uploads only) is graded on the plan alone."""
        if database(ctx) is None:
            return []
        return [timer_meaning(ctx.app, script_dir(ctx), data_dir(ctx)), dump_meaning(ctx.app)]

    def _packages(self, s: BackupsSettings) -> tuple[str, ...]:
        """The copy's packages, one apt run: ssh, and rsync or restic (a restic copy needs no rsync)."""
        return offsite.PACKAGES if s.offsite_kind == "rsync" else (*restic.PACKAGES, "openssh-client")

    def _plan_offsite(self, s: BackupsSettings, place: offsite.Place, facts: FactValues,
                      ctx: Context) -> Iterator[Change | Ok | Warn]:
        ready = changed = False
        for item in offsite.plan(place, s.offsite_host_key or "", ctx.secret(s.offsite_key, "backups.offsite_key"),
                                 s.free_reserve_mb, facts, ctx, facts[BackupState(data_dir(ctx))].get("sets") or [],
                                 need_rsync=s.offsite_kind == "rsync", packages=self._packages(s)):
            ready = ready or isinstance(item, offsite.LoggedIn)
            changed = changed or isinstance(item, Change)
            yield item
        if s.offsite_kind == "restic" and s.offsite_password:
            yield from restic.plan(place, ctx.secret(s.offsite_password, "backups.offsite_password"), facts, ready,
                                   others=changed)

    # ------------------------------------------------------------------ hooks
    def dump_before_migration(self, settings: StepSettings, ctx: Context, release: str) -> Command:
        """The PreMigrationDump hook (recipes/shared/data.py): a backup set named after the release."""
        script = f"{script_dir(ctx)}/backup.sh"
        return sh('exec /bin/sh "$1" "premigrate-$2"', script, release,
                  display=f"{script} premigrate-{release}")

    def backup_now(self, settings: StepSettings, ctx: Context) -> Command:
        script = f"{script_dir(ctx)}/backup.sh"
        return sh('exec /bin/sh "$1" manual', script, display=f"{script} manual")

    def drill_now(self, settings: StepSettings, ctx: Context, dump: str | None) -> Command:
        script = f"{script_dir(ctx)}/drill.sh"
        return sh('exec /bin/sh "$@"', script, *([dump] if dump else []),
                  display=f"{script} {dump or ''}".rstrip())

    def restore_plan(self, settings: StepSettings, ctx: Context, dump: str) -> RestorePlan:
        script = f"{script_dir(ctx)}/restore.sh"
        found = migrator(ctx)
        return RestorePlan(stop=sh('exec /bin/sh "$1" stop', script, display=f"{script} stop"),
                           data=sh('exec /bin/sh "$1" data "$2"', script, dump, display=f"{script} data {dump}"),
                           migrate=found[0].migrate_now(found[1], ctx) if found else None,
                           start=sh('exec /bin/sh "$1" start', script, display=f"{script} start"))

    def fetch_offsite(self, settings: StepSettings, ctx: Context, want: str) -> Command | None:
        """Bring set `want` (or `latest`) back from the off-server copy, for a restore on a server rebuilt from
        the recipe; None without an off-server copy. The script's last line is `set=NAME`."""
        if not isinstance(settings, BackupsSettings) or settings.offsite_target is None:
            return None
        script = f"{script_dir(ctx)}/restore.sh"
        return sh('exec /bin/sh "$1" fetch "$2"', script, want, display=f"{script} fetch {want}")

    def list_backups(self, settings: StepSettings, ctx: Context) -> Command:
        """The backup sets kept, a name a line (STAMP-KIND: 20261204T031500Z-scheduled)."""
        return sh('ls -1 "$1" 2>/dev/null | grep -E "^[0-9]{8}T[0-9]{6}Z-" || true', data_dir(ctx),
                  display=f"ls {data_dir(ctx)}")

def root_sandbox(writable: str) -> str:
    """The app's sandbox for the root units that dump and restore, everything but `writable` read-only. They
    switch to postgres and to the app user (runuser), so they keep the capabilities for that, and go without
    NoNewPrivileges: under it runuser's switch is refused ("cannot set user id: Operation not permitted", tried
    on systemd 257)."""
    return "\n".join(f"{name}={value}" for name, value in sandbox.directives([writable])
                     if name not in ("CapabilityBoundingSet", "NoNewPrivileges"))


def backup_findings(state: dict, period: int, drill: bool, ctx: Context) -> Iterator[Ok | Warn]:
    """What `check` says: the newest backup's age against the schedule, and the last drill."""
    sets, now = state.get("sets") or [], state.get("now")
    if not sets:
        yield Ok(_("no backup yet: the first is taken on schedule, or now with `deploy-wizard backup`"))
    elif now is not None:
        newest = sets[-1]
        age = now - (set_time(newest) or now)
        hours = f"{age / 3600:.1f}"
        if age > period + GRACE:
            yield Warn(_("the newest backup, {set}, is {hours} h old: older than its schedule allows ({allowed} h)"
                         ).format(set=newest, hours=hours, allowed=f"{(period + GRACE) / 3600:.1f}"),
                       _("`systemctl status {unit}` and `sudo journalctl -u {unit} -n 50` say why").format(
                           unit=f"{ctx.app}-backup.service"))
        else:
            yield Ok(_("the newest backup, {set}, is {hours} h old").format(set=newest, hours=hours))
    record = state.get("drill")
    if not drill or record is None:
        return
    if record["result"] == "ok":
        yield Ok(_("the last restore drill passed at {when}: {set} (then {hours} h old) restores").format(
            when=record["when"], set=record["set"], hours=f"{(record['age'] or 0) / 3600:.1f}"))
    else:
        yield Warn(_("the last restore drill failed at {when} on {set}: {why}").format(
            when=record["when"], set=record["set"], why=record["why"]),
            _("`sudo journalctl -u {unit} -n 50` has its output; take a new backup with `deploy-wizard backup`, "
              "then `sudo systemctl start {unit}`").format(unit=f"{ctx.app}-drill.service"))
