"""Commands on a schedule as systemd timers: one oneshot service and one timer per job, named per app.

Why systemd timers and not cron: a timer's run is a unit, so its exit status, its start and end and its output
are in `systemctl status` and the journal (cron mails them to nobody); `Persistent=true` runs a job missed while
the server was off once it boots; a run never overlaps the one before (a oneshot unit that is still running is
not started again); and the service gets the same sandbox (recipes/shared/sandbox.py), user and env files as the
app. The jobs step and the backups step both render their units here.

Why the schedule is checked twice: by this machine's `systemd-analyze calendar` when it has one (a typo is a
field error in the form, before anything connects), and always by the server's own (CalendarCheck), since
systemd versions differ in what they accept; a spec the server refuses stops the plan naming the field.

Names: every unit is `APP-KIND-NAME` (shop-job-clearsessions.timer) and carries a comment line naming its
app (`# deploy-wizard app: shop`): the step removes only units with its own app's line, so a job removed from
the recipe goes and another app's units (even one called shop-job-x) are never touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from recipes.shared import guards
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Ok, PlanError, PutFile, RunCommand, Warn, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

UNIT_DIR = "/etc/systemd/system"
# what a calendar spec is made of (systemd.time(7)): no % (a systemd specifier), quote or line break gets through
_CALENDAR = re.compile(r"^[A-Za-z0-9*][A-Za-z0-9*:/.,~ +\-]{0,99}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
# a word of ExecStart= that needs no quoting for systemd
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_./:=@+,\-]+$")


def calendar_spec(value: str) -> str:
    """A systemd calendar spec (daily, Mon *-*-* 03:00, *:0/15): its characters here, then this machine's
    `systemd-analyze calendar` when there is one. The server checks it again (CalendarCheck)."""
    if not _CALENDAR.match(value):
        raise ValueError(_("'{v}' is not a systemd calendar spec like daily, hourly, Mon *-*-* 03:00 or *:0/15 "
                           "(letters, digits, space and * : / . , ~ + - only, starting with a letter, a digit or *)"
                           ).format(v=value))
    tool = shutil.which("systemd-analyze")
    if tool is not None:
        try:
            done = subprocess.run([tool, "calendar", "--", value], capture_output=True, text=True, timeout=10,
                                  env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.TimeoutExpired):
            return value  # the server's check still holds
        if done.returncode != 0:
            raise ValueError(_("'{v}' is not a calendar spec systemd accepts (systemd-analyze calendar: {why})").format(
                v=value, why=((done.stderr or done.stdout).strip().splitlines() or ["?"])[-1]))
    return value


def job_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(_("'{v}' is not a job name: lower-case letters, digits and _, starting with a letter, at "
                           "most 31").format(v=value))
    return value


def exec_line(words: Sequence[str]) -> str:
    """Words as one ExecStart= value: each word as systemd reads it (quoted when needed, % doubled), so what
    runs is exactly these arguments. The words come from validated settings (no $, ; or line breaks)."""
    out = []
    for word in words:
        word = word.replace("%", "%%")
        out.append(word if _PLAIN_WORD.match(word) else '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def unit_base(app: str, kind: str, name: str) -> str:
    return f"{app}-{kind}-{name}"


@dataclass(frozen=True)
class Timed:
    """One scheduled unit pair: `base`.service runs `exec_start` as `user`; `base`.timer starts it on `calendar`."""

    base: str
    description: str
    calendar: str
    exec_start: str
    user: str
    working_dir: str = "/"
    env_files: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()  # NAME=value, each validated by the caller
    sandbox: str = ""  # lines of the [Service] section (recipes/shared/sandbox.py)
    timeout: str = "1h"
    nice: int = 0

    def service_text(self, app: str) -> str:
        return render("job.service.j2", app=app, job=self)

    def timer_text(self, app: str) -> str:
        return render("job.timer.j2", app=app, job=self)


def unit_paths(base: str) -> tuple[str, str]:
    return f"{UNIT_DIR}/{base}.service", f"{UNIT_DIR}/{base}.timer"


def unit_facts(timed: Iterable[Timed]) -> list[Fact]:
    facts: list[Fact] = []
    for item in timed:
        facts += [FileInfo(path) for path in unit_paths(item.base)]
        facts += [TimerState(item.base)]
    return facts


def install(app: str, items: Sequence[Timed], facts: FactValues, why: str) -> Iterator[Change | Ok]:
    """Write each service and timer (one daemon-reload after them), enable and start each timer that is not.
    `why` is formatted with name and calendar."""
    changed: list[str] = []
    for item in items:
        service, timer = unit_paths(item.base)
        for path, text in ((service, item.service_text(app)), (timer, item.timer_text(app))):
            for change in file_change(why.format(name=item.base, calendar=item.calendar), path, text,
                                      facts[FileInfo(path)],
                                      check=cmd("systemd-analyze", "verify", path)
                                      if path == service else None):
                if isinstance(change, PutFile):
                    changed.append(item.base)
                yield change
    if changed:
        yield RunCommand(_("make systemd read the changed units"), sh("systemctl daemon-reload",
                                                                      display="systemctl daemon-reload"),
                         after_change=True)
    for item in items:
        state = facts[TimerState(item.base)]
        timer = f"{item.base}.timer"
        if item.base in changed or state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled":
            yield RunCommand(_("start the timer {unit} ({calendar})").format(unit=timer, calendar=item.calendar),
                             sh('systemctl enable --quiet "$1" && systemctl restart "$1"', timer,
                                display=f"systemctl enable --now {timer}"),
                             after_change=item.base in changed,
                             skip_if=None if item.base in changed else guards.unit_running(timer))
        else:
            yield Ok(_("{unit} runs {calendar}").format(unit=timer, calendar=item.calendar))


def remove_stale(app: str, kind: str, wanted: Iterable[str], found: Iterable[str]) -> Iterator[Change]:
    """Stop, disable and delete this app's `kind` units whose name the recipe no longer lists."""
    keep = set(wanted)
    for base in sorted(set(found) - keep):
        service, timer = unit_paths(base)
        yield RunCommand(_("remove {unit}: it is no longer in the recipe").format(unit=f"{base}.timer"), sh(
            'systemctl disable --now --quiet "$1.timer" 2>/dev/null; systemctl stop "$1.service" 2>/dev/null; '
            'rm -f "$2" "$3" && systemctl daemon-reload && systemctl reset-failed "$1.service" "$1.timer" '
            '2>/dev/null; true', base, service, timer, display=f"systemctl disable --now {base}.timer && rm "
                                                               f"{service} {timer}"),
            skip_if=sh('! [ -e "$1" ] && ! [ -e "$2" ]', service, timer))


def last_run_note(base: str, state: Mapping[str, str], label: str) -> Ok | Warn | None:
    """What `check` says of a job's last run: its exit status, and where its output is."""
    result, status = state.get("Result", ""), state.get("ExecMainStatus", "")
    when = state.get("ExecMainExitTimestamp", "").strip()
    journal = f"journalctl -u {base}.service -n 50 --no-pager"
    if not when or when == "n/a":
        return Ok(_("{label} has not run yet (`systemctl start {unit}` runs it now)").format(
            label=label, unit=f"{base}.service"))
    if result == "success" and status in ("", "0"):
        return Ok(_("{label}: the last run at {when} succeeded").format(label=label, when=when))
    return Warn(_("{label}: the last run at {when} failed ({result}, exit status {status})").format(
        label=label, when=when, result=result or "?", status=status or "?"),
        _("read its output: `sudo {journal}`; run it again: `sudo systemctl start {unit}`").format(
            journal=journal, unit=f"{base}.service"))


@dataclass(frozen=True, eq=False)
class TimerState(Fact):
    """The timer's state and its service's last run: ActiveState, UnitFileState of BASE.timer; Result,
    ExecMainStatus and ExecMainExitTimestamp of BASE.service (empty before its first run)."""

    base: str

    kind = "timer"

    def command(self) -> Command:
        return sh('systemctl show -p ActiveState,UnitFileState "$1.timer"; '
                  'systemctl show -p Result,ExecMainStatus,ExecMainExitTimestamp "$1.service"', self.base,
                  env={"LC_ALL": "C", "TZ": "UTC"})

    def fresh(self) -> dict[str, str]:
        return {}

    def parse(self, out: str, status: int) -> dict[str, str]:
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@dataclass(frozen=True, eq=False)
class ManagedUnits(Fact):
    """The bases (APP-KIND-NAME) of timers in /etc/systemd/system that carry this app's line: the only ones a
    step may remove."""

    app: str
    unit_kind: str

    kind = "managed-timers"

    def command(self) -> Command:
        return sh('cd /etc/systemd/system 2>/dev/null || exit 0; for f in "$1-$2-"*.timer; do '
                  '[ -f "$f" ] && grep -qxF "# deploy-wizard app: $1" "$f" && printf "%s\\n" "${f%.timer}"; '
                  'done; true', self.app, self.unit_kind)

    def fresh(self) -> list[str]:
        return []

    def parse(self, out: str, status: int) -> list[str]:
        return sorted(line.strip() for line in out.splitlines() if line.strip())


@dataclass(frozen=True, eq=False)
class CalendarCheck(Fact):
    """The server's systemd's reading of each spec: {"spec": {"ok": bool, "period": seconds or None, "error":
    text}}. The period is between the next two elapses: how old the newest run's result may be."""

    specs: tuple[str, ...]

    kind = "calendar"
    root = False

    def command(self) -> Command:
        return sh('for s; do printf "@@ %s\\n" "$s"; systemd-analyze calendar --iterations=2 -- "$s" 2>&1; '
                  'echo "@@rc $?"; done', *self.specs, env={"LC_ALL": "C", "TZ": "UTC"})

    def fresh(self) -> dict[str, dict[str, object]]:
        return {spec: {"ok": True, "period": None, "error": ""} for spec in self.specs}

    def parse(self, out: str, status: int) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        spec, lines = None, []
        for line in out.splitlines():
            if line.startswith("@@ "):
                spec, lines = line[3:], []
            elif line.startswith("@@rc ") and spec is not None:
                found[spec] = _reading(lines, line[5:].strip() == "0")
                spec = None
            else:
                lines.append(line)
        return found


def _reading(lines: list[str], ok: bool) -> dict[str, object]:
    times = []
    for line in lines:
        label, _sep, value = line.partition(": ")
        if label.strip() in ("Next elapse", "Iter. #2"):
            try:
                times.append(datetime.strptime(value.strip(), "%a %Y-%m-%d %H:%M:%S %Z"))
            except ValueError:
                pass
    period = int((times[1] - times[0]).total_seconds()) if len(times) == 2 else None
    error = "" if ok else (lines[-1].strip() if lines else "?")
    return {"ok": ok, "period": period, "error": error}


def refuse_bad_specs(check: Mapping[str, Mapping[str, object]], fields: Mapping[str, str]) -> None:
    """Stop the plan when the server's systemd refuses a spec, naming the field (`fields`: spec -> label)."""
    for spec, label in fields.items():
        reading = check.get(spec) or {"ok": False, "error": "?"}
        if not reading["ok"]:
            raise PlanError(_("{field}: '{spec}' is not a calendar spec the server's systemd accepts "
                              "(systemd-analyze calendar: {why})").format(field=label, spec=spec,
                                                                         why=reading["error"]))
