"""Step workers: long-running processes of the app beside the web (Celery, RQ, Dramatiq, any command), each a
templated systemd service (APP-worker-NAME@N) that runs the release the web accepted.

Why they follow `current`: the app server's gate decides which release is live, and switches `current` only
once that release answered its health check (and, for a new release, stayed healthy through the watch). A
worker starts in `current` (systemd resolves the link when it starts), and this step runs after the app
server's: it restarts every worker that runs another release than the live one. A release the gate refuses
stops the run before this step, so the workers keep the release they ran. `deploy-wizard rollback` moves them
after the web's switch (follow_release).

Why the names are per app and never hold a "-": two apps on one server each find their own units by the prefix
APP-worker-, and a worker name without "-" can never be read as part of another app's name.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from recipes.shared import sandbox
from recipes.shared.common import current_release, release_facts
from recipes.shared.facts import UnitExposure
from recipes.shared.web import app_env_files, venv_marks, writable_dirs
from recipes.workers.facts import UNIT_DIR, Instance, WorkerState, WorkerUnits
from recipes.workers.meanings import worker_meaning
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.hooks import LogSource
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    Warn,
    file_change,
)
from wizard.engine.templates import renderer

_ = translator(__file__)
n_ = plural_translator(__file__)
render = renderer(__file__)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
# a word of a worker's command: what needs no shell to mean what it says (no quotes, globs, $, ;, |, ...)
_PLAIN = re.compile(r"[A-Za-z0-9_./:,=+@%-]")
MAX_INSTANCES = 32
DEFAULT_STOP_TIMEOUT = 30
_STOPPED: Instance = {"active": "inactive", "enabled": False, "since": None, "cwd": None}


def worker_commands(value: dict[str, str]) -> dict[str, str]:
    """Names a systemd unit can carry, and commands that are plain words (each an argument, no shell)."""
    for name, command in value.items():
        if not _NAME.match(name):
            raise ValueError(_("'{v}' is not a worker name: a lower-case letter, then lower-case letters, digits or _ "
                               "(at most 30; no -, which would mix with another app's unit names)").format(v=name))
        bad = sorted({ch for ch in command if not _PLAIN.match(ch) and ch != " "})
        if bad:
            raise ValueError(_("the command of worker {name} holds shell syntax ({chars}): it runs as plain words "
                               "separated by spaces, without a shell; put anything more in a script of the "
                               "release").format(name=name, chars=" ".join(repr(ch) for ch in bad)))
        if not command.split():
            raise ValueError(_("the command of worker {name} is empty").format(name=name))
        if command.split()[0].startswith("-") or "=" in command.split()[0]:  # env(1) would read it as its own
            raise ValueError(_("the command of worker {name} must start with a program, not '{word}'").format(
                name=name, word=command.split()[0]))
    return value


def _named_workers(value: dict[str, int], info: ValidationInfo, low: int, high: int) -> dict[str, int]:
    if "processes" not in info.data:  # refused itself: its own message says why, a second one here would mislead
        return value
    names = info.data["processes"]
    for name, number in value.items():
        if name not in names:
            raise ValueError(_("'{v}' is not one of the workers under processes ({names})").format(
                v=name, names=", ".join(sorted(names)) or "-"))
        if not low <= number <= high:
            raise ValueError(_("{name}: {n} is out of range ({low} to {high})").format(
                name=name, n=number, low=low, high=high))
    return value


class WorkersSettings(StepSettings):
    processes: Annotated[dict[str, str], AfterValidator(worker_commands)] = Field(
        default_factory=dict, description=(
            "Long-running processes: NAME=command pairs, e.g. default=rq worker, beat=celery -A shop beat. Each "
            "runs in the live release as the app user, with the app's env files and the venv first on PATH."))
    instances: dict[str, int] = Field(default_factory=dict, description=(
        f"Processes per worker: NAME=N pairs (1 to {MAX_INSTANCES}); a worker not named runs one."))
    stop_timeout: dict[str, int] = Field(default_factory=dict, description=(
        f"Seconds a worker may take to finish its job after TERM before it is killed: NAME=seconds (1 to 3600); "
        f"a worker not named gets {DEFAULT_STOP_TIMEOUT}."))

    @field_validator("instances")
    @classmethod
    def _instances(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        return _named_workers(value, info, 1, MAX_INSTANCES)

    @field_validator("stop_timeout")
    @classmethod
    def _stop_timeout(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        return _named_workers(value, info, 1, 3600)

    def count(self, name: str) -> int:
        return self.instances.get(name, 1)

    def timeout(self, name: str) -> int:
        return self.stop_timeout.get(name, DEFAULT_STOP_TIMEOUT)


def unit_base(ctx: Context, name: str) -> str:
    return f"{ctx.app}-worker-{name}"


def unit_path(ctx: Context, name: str) -> str:
    return f"{UNIT_DIR}/{unit_base(ctx, name)}@.service"


def instance_unit(ctx: Context, name: str, instance: str | int) -> str:
    return f"{unit_base(ctx, name)}@{instance}.service"


def unit_word(word: str) -> str:
    """A word as systemd's ExecStart= reads it: % doubled (a specifier otherwise). The validator let through
    only characters that need no quoting, for systemd as for a shell."""
    return word.replace("%", "%%")


def running_live(state: Instance, live: str | None) -> bool:
    """The instance runs, in the live release's directory (a deleted one reads "...(deleted)")."""
    return state["active"] == "active" and bool(state["cwd"]) and live is not None and \
        str(state["cwd"]).rstrip("/").rsplit("/", 1)[-1] == live


class Workers(Step):
    name = "workers"
    order = 750
    release_part = True  # `deploy --ref` moves the workers onto the release its gate accepted, as apply does
    title = "Background workers"
    Settings = WorkersSettings
    teaching = Teaching(
        why="Real apps run more than the web: a Celery or RQ worker takes the slow jobs a request queues (mail, "
            "images, reports), a scheduler feeds it. Each worker here is a systemd service of its own, "
            "APP-worker-NAME@N, N = 1, 2, ... per process: it runs as USER in the live release with the app's env "
            "files (the same DATABASE_URL and REDIS_URL as the web), the venv first on PATH, in the same sandbox "
            "as gunicorn, and what it prints goes to the journal. systemd restarts it when it crashes and starts "
            "it at boot. Workers follow the web: a new release reaches them only after the app server's gate "
            "accepted it (they start in /srv/APP/current, which the gate switches), and every release or "
            "rollback restarts them. Stopping sends TERM to the worker's main process, which lets it finish the "
            "job at hand (a warm shutdown), and kills whatever still runs after stop_timeout. The plan "
            "reconciles: a worker taken out of the recipe is stopped and its unit removed, instances beyond the "
            "count are stopped, and `check` reports a worker that is down or one that runs without being in the "
            "recipe.",
        verify=[Check("systemctl list-units --no-pager --all 'APP-worker-*'",
                      note="every worker instance of the app: active (running)"),
                Check("journalctl -u 'APP-worker-WORKER@*' -n 30 --no-pager", root=True,
                      note="the worker's own output"),
                Check("systemctl show -p MainPID,ActiveEnterTimestamp,TimeoutStopUSec APP-worker-WORKER@1",
                      note="since when it runs, and how long it may take to stop"),
                Check("sh -c 'readlink /proc/$(systemctl show -P MainPID APP-worker-WORKER@1)/cwd; "
                      "readlink -f /srv/APP/current'", root=True,
                      note="the release the worker runs, then the live one: the same directory")],
        troubleshoot=[
            ("APP-worker-NAME@1.service: Failed with result 'exit-code'",
             "The worker stopped by itself: `sudo journalctl -u 'APP-worker-NAME@*' -n 50` shows its traceback (a "
             "module missing from the requirements, REDIS_URL not set: add the redis step)."),
            ("a worker runs the old code after a deploy",
             "It restarts only once the web's gate accepted the new release; when the gate refused it, the run "
             "stopped before this step and every worker keeps the release the web serves. `deploy-wizard check` "
             "shows a worker on another release than the live one."),
            ("State 'stop-sigterm' timed out. Killing.",
             "The worker did not finish its job within stop_timeout after TERM and was killed: raise stop_timeout "
             "for it, or make long jobs resumable."),
            ("OSError: [Errno 30] Read-only file system (celery beat)",
             "The worker's release is read-only, like the web's: give celery beat a schedule file in its private "
             "/tmp: celery -A proj beat --schedule /tmp/celerybeat-schedule."),
            ("the command of worker NAME holds shell syntax",
             "A worker's command runs without a shell: plain words, no quotes, $, ;, |, > or *. Put the rest in a "
             "script of your release and name the script."),
        ],
        goal="Each worker of the recipe runs as many APP-worker-NAME@N services as asked, as USER in the live "
             "release, restarted by systemd and started at boot.",
        section="Beyond the tutorial, which has no section on background workers (nearest: 4.2 Application "
                "server configuration)",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, WorkersSettings)
        return [worker_meaning(self._state_fact(ctx), ctx.app, ctx.current, name, settings.count(name))
                for name in sorted(settings.processes)]

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, WorkersSettings)
        return {"WORKER": min(settings.processes, default="default")}

    def _state_fact(self, ctx: Context) -> WorkerUnits:
        return WorkerUnits(ctx.app, tuple(app_env_files(ctx)), tuple(venv_marks(ctx)))

    def facts(self, s: WorkersSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield self._state_fact(ctx)
        yield from release_facts(ctx)
        for name in sorted(s.processes):
            yield FileInfo(unit_path(ctx, name))
            yield UnitExposure(instance_unit(ctx, name, 1))

    def _unit_text(self, s: WorkersSettings, ctx: Context, name: str) -> str:
        redis = ["redis-server.service"] if ctx.settings("redis") is not None else []  # its queue, at boot
        after = " ".join(["network.target", *redis])
        return render("worker@.service.j2", app=ctx.app, worker=name, user=ctx.user, home=ctx.home, venv=ctx.venv,
                      current=ctx.current, env_files=app_env_files(ctx), after=after,
                      argv=" ".join(unit_word(word) for word in s.processes[name].split()),
                      stop_timeout=s.timeout(name), sandbox=sandbox.unit_lines(writable_dirs(ctx)))

    def plan(self, s: WorkersSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        state: WorkerState = facts[self._state_fact(ctx)]
        yield from self._retire(s, state, ctx)
        rewritten: set[str] = set()
        for name in sorted(s.processes):
            path = unit_path(ctx, name)
            for change in file_change(_("write the unit of worker {name}: {command}").format(
                    name=name, command=shlex.join(s.processes[name].split())), path, self._unit_text(s, ctx, name),
                    facts[FileInfo(path)], check=cmd("systemd-analyze", "verify", path)):
                if isinstance(change, PutFile):
                    rewritten.add(name)
                yield change
        if rewritten:
            yield RunCommand(_("make systemd read the changed units"), cmd("systemctl", "daemon-reload"),
                             after_change=True)
        live = current_release(facts, ctx)  # None only before any release (a preview): they start with the first
        for name in sorted(s.processes):
            yield from self._converge(s, state, ctx, name, live, name in rewritten)
            note = sandbox.exposure_note(instance_unit(ctx, name, 1),
                                         facts[UnitExposure(instance_unit(ctx, name, 1))],
                                         rewriting=name in rewritten)
            if note is not None:
                yield note

    def _retire(self, s: WorkersSettings, state: WorkerState, ctx: Context) -> Iterator[Change]:
        """Workers of this app that are not in the recipe: stopped (TERM, then their stop timeout), disabled, their
        unit removed."""
        left = {name for name, instances in state["instances"].items() if any(
            st["enabled"] or st["active"] not in ("inactive", "") for st in instances.values())}
        gone = sorted((set(state["files"]) | left) - set(s.processes))  # a unit systemd merely still lists: done
        for name in gone:
            units = [instance_unit(ctx, name, i) for i in sorted(state["instances"].get(name, {}))]
            running = [u for u, i in zip(units, sorted(state["instances"].get(name, {})), strict=True)
                       if state["instances"][name][i]["active"] in ("active", "activating", "reloading")]
            why = (n_("worker {name} runs ({n} process) but is not in the recipe: stop it and remove its unit",
                      "worker {name} runs ({n} processes) but is not in the recipe: stop it and remove its unit",
                      len(running)) if running else
                   _("worker {name} is not in the recipe: remove its unit")).format(name=name, n=len(running))
            yield RunCommand(why, sh('p="$1"; shift; for u; do systemctl disable --quiet --now "$u" 2>/dev/null; '
                                     'systemctl reset-failed "$u" 2>/dev/null; done; rm -f "$p" && '
                                     'systemctl daemon-reload', unit_path(ctx, name), *units,
                                     display=f"systemctl disable --now {' '.join(units) or '-'} && "
                                             f"rm -f {unit_path(ctx, name)}"),
                             timeout=3700, skip_if=sh('[ ! -e "$1" ] && ! systemctl list-units --plain --no-legend '
                                                      '--state=active "$2" | grep -q .', unit_path(ctx, name),
                                                      instance_unit(ctx, name, "*")))

    def _converge(self, s: WorkersSettings, state: WorkerState, ctx: Context, name: str, live: str | None,
                  rewritten: bool) -> Iterator[Change | Ok]:
        where = _("on release {id}").format(id=live) if live else _("with the first release")
        have = state["instances"].get(name, {})
        wanted = [str(i) for i in range(1, s.count(name) + 1)]
        units = [instance_unit(ctx, name, i) for i in wanted]
        states = [have.get(i, _STOPPED) for i in wanted]
        active = [st for st in states if st["active"] == "active"]
        old = any(not running_live(st, live) for st in active)
        env, venv = state["env_changed"], state["venv_changed"]
        stale_env = any(env and st["since"] and env > st["since"] for st in active)
        stale_venv = any(venv and st["since"] and venv > st["since"] for st in active)
        timeout = s.timeout(name) * len(units) + 120
        if active and (rewritten or old or stale_env or stale_venv):
            reason = (_("its unit changed") if rewritten else
                      _("it runs another release than the live one") if old else
                      _("the app's env files changed") if stale_env else
                      _("the packages in the virtual environment changed after it started"))
            yield RunCommand(n_("restart worker {name} ({n} process) {where}: {reason}",
                                "restart worker {name} ({n} processes) {where}: {reason}", len(units)).format(
                                    name=name, n=len(units), where=where, reason=reason),
                             sh('systemctl enable --quiet "$@" && systemctl restart "$@"', *units,
                                display=f"systemctl restart {' '.join(units)}"),
                             timeout=timeout, after_change=rewritten and not old and not stale_env and not stale_venv,
                             skip_if=None if rewritten else self._on_live(ctx, units))
        elif len(active) < len(units) or not all(st["enabled"] for st in states):
            down = [u for u, st in zip(units, states, strict=True) if st["active"] != "active" or not st["enabled"]]
            yield RunCommand(n_("start worker {name} ({n} process) {where}",
                                "start worker {name} ({n} processes) {where}", len(down)).format(
                                    name=name, n=len(down), where=where),
                             cmd("systemctl", "enable", "--quiet", "--now", *down), timeout=timeout,
                             skip_if=self._on_live(ctx, units))
        else:
            yield Ok(n_("worker {name}: {n} process runs {where}",
                        "worker {name}: {n} processes run {where}", len(units)).format(
                            name=name, n=len(units), where=where))
        yield from self._beyond(s, have, ctx, name, wanted)

    def _beyond(self, s: WorkersSettings, have: dict[str, Instance], ctx: Context, name: str,
                wanted: list[str]) -> Iterator[Change]:
        """Instances past the count (the count went down): stopped the way a worker stops, and disabled."""
        extra = sorted(i for i, st in have.items() if i not in wanted and (
            st["enabled"] or st["active"] in ("active", "activating", "failed")))
        if not extra:
            return
        units = [instance_unit(ctx, name, i) for i in extra]
        yield RunCommand(n_("stop {n} instance of worker {name} beyond its {count}: {units}",
                            "stop {n} instances of worker {name} beyond its {count}: {units}", len(extra)).format(
                                n=len(extra), name=name, count=len(wanted), units=", ".join(units)),
                         sh('for u; do systemctl disable --quiet --now "$u"; systemctl reset-failed "$u" '
                            '2>/dev/null; done; true', *units,
                            display=f"systemctl disable --now {' '.join(units)}"),
                         timeout=s.timeout(name) * len(extra) + 60,
                         skip_if=sh('for u; do systemctl is-enabled --quiet "$u" && exit 1; '
                                    'systemctl is-active --quiet "$u" && exit 1; done; exit 0', *units))

    def _on_live(self, ctx: Context, units: list[str]) -> Command:
        """The export guard: every instance is enabled, active, and runs in the live release's directory."""
        return sh('c=$(readlink -f "$1"); shift; for u; do systemctl is-enabled --quiet "$u" && '
                  'systemctl is-active --quiet "$u" || exit 1; p=$(systemctl show -P MainPID "$u"); '
                  '[ "$(readlink "/proc/$p/cwd")" = "$c" ] || exit 1; done', ctx.current, *units)

    def log_sources(self, settings: StepSettings, ctx: Context) -> dict[str, LogSource]:
        """The LogSources hook: `deploy-wizard logs --service worker NAME` reads every instance's journal."""
        assert isinstance(settings, WorkersSettings)
        return {f"worker {name}": LogSource(units=(instance_unit(ctx, name, "*"),))
                for name in sorted(settings.processes)}

    def follow_release(self, settings: StepSettings, ctx: Context) -> list[Command]:
        """After a rollback switched the web: every worker restarts in the release it serves now."""
        assert isinstance(settings, WorkersSettings)
        units = [instance_unit(ctx, name, i) for name in sorted(settings.processes)
                 for i in range(1, settings.count(name) + 1)]
        if not units:
            return []
        return [sh('systemctl restart "$@"', *units, display=f"systemctl restart {' '.join(units)}")]

    def verify(self, s: WorkersSettings, ctx: Context) -> list[RunCommand]:
        """Each instance still runs a few seconds after it started: a worker that crashes at import (a missing
        module, no REDIS_URL) fails the step with its own log, instead of restarting quietly forever."""
        units = [instance_unit(ctx, name, i) for name in sorted(s.processes) for i in range(1, s.count(name) + 1)]
        if not units:
            return []
        return [RunCommand(_("the workers keep running"), sh(
            'sleep 3; bad=0; for u; do if ! systemctl is-active --quiet "$u"; then echo "$u is not running:"; '
            'journalctl -u "$u" -n 20 --no-pager -o cat; bad=1; fi; done; exit $bad', *units,
            display=f"systemctl is-active {' '.join(units)}"), timeout=120)]
