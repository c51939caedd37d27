"""Step app_server: gunicorn as a socket-activated systemd service that reloads gracefully on new releases."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.app_server import django
from recipes.app_server.facts import CpuCount, EnvAge, env_age, started_after
from recipes.app_server.gate import (
    candidate,
    failed_marker,
    gate_and_switch,
    live_switch,
    plan_gate,
    probe_for,
    serving,
    verify_live,
)
from recipes.app_server.meanings import env_content, env_meaning, env_values, socket_meaning
from recipes.app_server.switch import dropin_path, dropin_text, switch_leaves, unit_name
from recipes.shared import guards, sandbox
from recipes.shared.common import (
    app_dirs,
    current_release,
    dir_facts,
    ensure_dirs,
    pending_release,
    release_facts,
    working_release,
)
from recipes.shared.facts import UnitExposure, UnitProperties
from recipes.shared.web import app_env_files, venv_marks, writable_dirs
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.hooks import LogSource
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Later,
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
from wizard.engine.validators import SecretRef

_ = translator(__file__)
n_ = plural_translator(__file__)
render = renderer(__file__)

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(\(\))?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
# any printable text but a quote or a backslash: written as NAME='value', which both systemd's EnvironmentFile=
# and the shell that runs migrations read the same way
_ENV_VALUE = re.compile(r"^[^'\\\x00-\x1f\x7f]{0,2000}$")


def wsgi_module(value: str) -> str:
    if not _MODULE.match(value):
        raise ValueError(_("'{v}' is not a WSGI/ASGI target like myproject.wsgi:application or app:app").format(
            v=value))
    return value


def env_map(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if not _ENV_NAME.match(name):
            raise ValueError(_("'{v}' is not an environment variable name (A-Z, 0-9, _)").format(v=name))
        if not _ENV_VALUE.match(text):
            raise ValueError(_("the value of {name} may not hold a quote ('), a backslash or a line break").format(
                name=name))
    return value


def secret_env_map(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _ENV_NAME.match(name):
            raise ValueError(_("'{v}' is not an environment variable name (A-Z, 0-9, _)").format(v=name))
    return value


def absolute_url_path(value: str) -> str:
    if not re.match(r"^/[A-Za-z0-9._/\-]*$", value):
        raise ValueError(_("'{v}' must be a URL path like /health").format(v=value))
    return value


class AppServerSettings(StepSettings):
    module: Annotated[str, AfterValidator(wsgi_module)] = Field("app:app", description=(
        "The WSGI/ASGI application: module:variable, e.g. myproject.wsgi:application."))
    workers: int | None = Field(None, ge=1, le=64, description="Worker processes; empty = 2 x CPUs + 1.")
    worker_class: Literal["sync", "uvicorn"] = Field("sync", description="'uvicorn' for ASGI apps.")
    timeout: int = Field(30, ge=5, le=600, description="Seconds before a stuck worker is restarted.")
    env: Annotated[dict[str, str], AfterValidator(env_map)] = Field(default_factory=dict, description=(
        "Plain environment variables for the app."))
    secret_env: Annotated[dict[str, SecretRef], AfterValidator(secret_env_map)] = Field(
        default_factory=dict, description="Environment variables whose values are secrets (references).")
    health_path: Annotated[str, AfterValidator(absolute_url_path)] = Field(
        "/", description="Path a new release must answer with a 2xx before it takes traffic (asked as nginx asks).")
    boot_timeout: int = Field(60, ge=5, le=900, description=(
        "Seconds a new release may take to start answering before it is refused."))
    watch: int = Field(30, ge=0, le=3600, description=(
        "Seconds a new release's health is watched after it goes live; a failure switches back to the release "
        "before. 0 = no watch."))


def unit_dir() -> str:
    return "/etc/systemd/system"


def env_files(ctx: Context) -> list[str]:
    return app_env_files(ctx)


def unit_values(s: AppServerSettings, ctx: Context, workers: int) -> dict[str, object]:
    """What the socket and service templates are rendered with."""
    return {"app": ctx.app, "user": ctx.user, "socket": ctx.socket, "releases": ctx.releases, "venv": ctx.venv,
            "env_files": env_files(ctx), "workers": workers, "timeout": s.timeout, "module": s.module,
            "worker_class": worker_class(s), "boot_timeout": s.boot_timeout, "home": ctx.home,
            "sandbox": sandbox.unit_lines(writable_dirs(ctx))}


def worker_class(s: AppServerSettings) -> str:
    return "uvicorn.workers.UvicornWorker" if s.worker_class == "uvicorn" else ""


class AppServer(Step):
    name = "app_server"
    order = 700
    title = "App server (gunicorn)"
    Settings = AppServerSettings
    release_part = True
    teaching = Teaching(
        why="gunicorn runs the app with several worker processes under systemd, which restarts it when it "
            "crashes and starts it at boot. systemd owns the socket nginx talks to, so a restart loses no request. "
            "A new release never goes live untried: it first starts on a socket of its own and is asked its health "
            "path the way nginx will ask it (the site's name, https behind TLS). Only a 2xx answer lets it start "
            "as its own unit, APP@<release>, beside the live one on the same socket; the old one stops only once "
            "the new one has imported the app, and requests still waiting are taken by the new one, so none is "
            "dropped and nginx is never reloaded. Then its health is watched for a while, and a failure switches "
            "back the same way. Migrations run before the switch, so the old code serves the new schema for a "
            "moment: change a schema in two releases (expand: add the new column and write both; contract: drop "
            "the old one a release later), never rename or drop what the live code still reads. "
            "Reload or restart? A new release is never a reload: it is a new unit beside the old one. "
            "`systemctl restart 'APP@*'` stops the workers, cutting the requests they serve, and starts them "
            "again while new requests wait in the socket's queue; the step restarts only when the unit or the "
            "app's environment changed, which systemd reads only when a unit starts, or when the venv's packages "
            "changed under the live release (a venv made anew): a running process keeps the modules it imported. "
            "Least privilege: each release runs in a systemd sandbox. The whole file system is read-only to it but "
            "its uploads directory (its code and venv too: a flaw in the app cannot change what the next request "
            "runs), /home is hidden, it may open only local and Internet sockets, and nothing (setuid programs, "
            "capabilities) can give it more rights. `systemd-analyze security` scores what it may still do, from 0 "
            "(nothing) to 10 (anything): the plan shows the live release's level, and the target is 2.5 or less. "
            "A new release is tried in the same sandbox at the gate, so an app that needs more fails there, "
            "before it takes traffic.",
        # the question first: systemd starts gunicorn at the first connection (after a reboot, say)
        verify=[Check("curl -sS -i --fail-with-body --unix-socket /run/APP/gunicorn.sock -H 'Host: SITE' "
                      "-H 'X-Forwarded-Proto: SCHEME' HEALTH_URL", root=True,
                      note="ask the app through its socket, the way nginx does"),
                Check("systemctl status --no-pager APP.socket 'APP@*'",
                      note="both active: systemd holds the socket, the release's gunicorn (APP@<release>) serves it"),
                Check("journalctl -u 'APP@*' -n 50 --no-pager", root=True,
                      note="the app's own output: errors, tracebacks, print()"),
                Check("systemd-analyze security --no-pager \"$(systemctl list-units --plain --no-legend "
                      "--state=active 'APP@*' | cut -d' ' -f1 | head -n 1)\" | tail -n 25",
                      note="the live release's sandbox, setting by setting, and its overall exposure level"),
                Check("tail -n 20 /var/log/APP/access.log", root=True,
                      note="gunicorn's access log, a line per request (0640: the app's and root's only)")],
        troubleshoot=[
            ("502 Bad Gateway from nginx",
             "gunicorn does not answer: `journalctl -u 'APP@*'` shows why (often an import error in the app)."),
            ("health: no answer on /run/APP-candidate/gunicorn.sock",
             "The new release never listened: it crashed at import (its log follows the message: a missing module, "
             "a setting read from an env variable the recipe does not set), or it needs longer than boot_timeout "
             "to start."),
            ("health: ... answers 404",
             "Nothing in the app answers health_path: set it to a page the app serves (/ or a /health view)."),
            ("release ... failed at ... and was switched back",
             "The release went live, then stopped answering its health path within the watch; the previous "
             "release serves again and its data stays as the newer release's migrations left it. The output of "
             "that run has the reason and the release's log; fix it and deploy a new commit."),
            ("connect() to unix:/run/APP/gunicorn.sock failed (13: Permission denied)",
             "nginx (www-data) cannot open the socket: the socket unit sets its group to www-data, mode 0660."),
            ("OSError: [Errno 30] Read-only file system",
             "The app writes where its sandbox does not let it: only its uploads directory (MEDIA_ROOT), its own "
             "/tmp and /var/log/APP are writable. Write uploads to MEDIA_ROOT, caches and temporary files to /tmp "
             "(or a cache server); a SQLite file in the release is lost at the next deploy anyway."),
            ("PermissionError: [Errno 13] Permission denied: '/home/USER",
             "/home is hidden from the app (ProtectHome): its HOME is /srv/APP/shared/home, read-only while it "
             "runs. Set the library's cache directory to /tmp, or prepare the files at deploy time."),
            ("ModuleNotFoundError: No module named",
             "module points to the wrong place, or a requirement is missing from requirements.txt."),
            ("Django: Bad Request (400) for every page",
             "ALLOWED_HOSTS lacks the site's name. In settings.py: ALLOWED_HOSTS = "
             "os.environ[\"ALLOWED_HOSTS\"].split(\",\"), and in the recipe's app_server env: ALLOWED_HOSTS."),
            ("Django: CSRF verification failed on every form behind HTTPS",
             "In settings.py: CSRF_TRUSTED_ORIGINS = os.environ[\"CSRF_TRUSTED_ORIGINS\"].split(\",\") with "
             "https://DOMAIN in the recipe's env, and SECURE_PROXY_SSL_HEADER = "
             "(\"HTTP_X_FORWARDED_PROTO\", \"https\")."),
            ("Django: a 500 error and nothing in journalctl -u 'APP@*'",
             "With DEBUG off Django logs nowhere until LOGGING sends errors to a StreamHandler (stderr); gunicorn "
             "passes stderr to the journal. examples/django-app/shop/settings.py has the lines."),
            ("Why not gunicorn --bind 0.0.0.0:8000, as quick tutorials show?",
             "A port on every address puts gunicorn straight on the internet: no TLS, no static files, no nginx "
             "in front to absorb slow clients, and only the firewall between it and everyone. Here gunicorn "
             "listens on /run/APP/gunicorn.sock, a unix socket only nginx (www-data) may open, and nginx is the "
             "one door."),
            ("The app does not start, and the journal does not say why",
             "Run it by hand the way the service does: as USER, in the live release, with the app's env files and "
             "the venv's gunicorn, on a port only this server sees: `sudo -u USER sh -c 'cd /srv/APP/current && "
             "set -a && for f in /srv/APP/shared/env/*.env; do . \"$f\"; done && exec /srv/APP/venv/bin/gunicorn "
             "--bind 127.0.0.1:8001 MODULE'`. Its errors come straight to your terminal; ask it with "
             "`curl -i -H 'Host: SITE' http://127.0.0.1:8001/` from a second shell, stop it with Ctrl+C. From your "
             "machine, `deploy-wizard run <recipe file> -- gunicorn --bind 127.0.0.1:8001 MODULE` does the same."),
        ],
        goal="gunicorn runs the app as USER behind the socket /run/APP/gunicorn.sock, started by systemd at boot.",
        section="4.2 Application server configuration",
    )

    def log_sources(self, settings: StepSettings, ctx: Context) -> dict[str, LogSource]:
        """The LogSources hook: gunicorn's output (access and errors) goes to each release unit's journal."""
        return {"app": LogSource(units=(f"{ctx.app}@*.service", f"{ctx.app}-candidate.service"))}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        return [socket_meaning(ctx)]  # the app answering through it: verify() (the health check), run too

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        """The module, and the question the health check asks (the site's name, https behind TLS)."""
        assert isinstance(settings, AppServerSettings)
        probe = probe_for(ctx, ctx.socket, settings.health_path, 30)
        return {"MODULE": settings.module, "SITE": probe.host, "SCHEME": "https" if probe.https else "http",
                "HEALTH_URL": f"http://{probe.host}{probe.path}"}

    def _paths(self, ctx: Context) -> tuple[str, str, str]:
        return (f"{unit_dir()}/{ctx.app}.socket", f"{unit_dir()}/{ctx.app}@.service", f"{ctx.env_dir}/app.env")

    def _legacy_unit(self, ctx: Context) -> str:
        """The single service of the layout before each release had its own unit."""
        return f"{unit_dir()}/{ctx.app}.service"

    def facts(self, s: AppServerSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        socket_unit, service_unit, env_file = self._paths(ctx)
        yield CpuCount()
        yield from dir_facts(app_dirs(ctx))
        yield from (FileInfo(socket_unit), FileInfo(service_unit), FileInfo(env_file))
        yield from (FileInfo(self._legacy_unit(ctx)), FileInfo(dropin_path(ctx)), FileInfo(failed_marker(ctx)))
        yield UnitProperties(f"{ctx.app}.socket")
        yield from release_facts(ctx)
        if all(fact in known for fact in release_facts(ctx)):
            live = current_release(known, ctx)
            if live:
                yield UnitProperties(unit_name(ctx, live))
                yield env_age(unit_name(ctx, live), ctx)
                yield UnitExposure(unit_name(ctx, live))
            yield from django.report_facts(ctx, working_release(known, ctx), known)

    # The app's environment, offered to the code step (recipes.shared.web.AppEnvironment): written right after
    # the checkout, before migrations or collectstatic run any of the app's code.
    def env_facts(self, ctx: Context) -> list[Fact]:
        return [FileInfo(f"{ctx.env_dir}/app.env")]

    def env_changes(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, AppServerSettings)
        path = f"{ctx.env_dir}/app.env"
        yield from file_change(_("write the app's environment to {path}").format(path=path), path,
                               env_content(env_values(settings, ctx)), facts[FileInfo(path)], mode="0640", owner="root",
                               group=ctx.user)

    def env_meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """The AppEnvironment hook behind the code step's grade: app.env, however it was written."""
        assert isinstance(settings, AppServerSettings)
        return [env_meaning(env_values(settings, ctx), f"{ctx.env_dir}/app.env", ctx.user)]

    def plan(self, s: AppServerSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn | Later]:
        socket_unit, service_unit, env_file = self._paths(ctx)
        workers = s.workers or 2 * facts[CpuCount()] + 1
        values = unit_values(s, ctx, workers)
        yield from ensure_dirs(app_dirs(ctx), facts)
        changed: list[Change | Ok] = list(self.env_changes(s, facts, ctx))
        verify = cmd("systemd-analyze", "verify", service_unit, display=f"systemd-analyze verify {service_unit}")
        changed += file_change(_("write the socket unit {path}").format(path=socket_unit), socket_unit,
                               render("gunicorn.socket.j2", **values), facts[FileInfo(socket_unit)])
        # a unit systemd rejects is put back before anything loads it
        changed += file_change(n_("write the service unit {path} ({n} worker)",
                                  "write the service unit {path} ({n} workers)", workers).format(
                                      path=service_unit, n=workers),
                               service_unit, render("gunicorn@.service.j2", **values), facts[FileInfo(service_unit)],
                               check=verify)
        yield from changed
        files_changed = any(isinstance(c, PutFile) for c in changed)
        socket_state = facts[UnitProperties(f"{ctx.app}.socket")]
        if files_changed or socket_state.get("NeedDaemonReload") == "yes":
            yield RunCommand(_("make systemd read the changed units"), cmd("systemctl", "daemon-reload"),
                             after_change=True)
        if socket_state.get("UnitFileState") != "enabled":  # started by the first release's unit (Requires=)
            yield RunCommand(_("listen on the app's socket at every boot"),
                             cmd("systemctl", "enable", "--quiet", f"{ctx.app}.socket"),
                             skip_if=sh('systemctl is-enabled --quiet "$1"', f"{ctx.app}.socket"))
        else:
            yield Ok(_("{unit} is enabled").format(unit=f"{ctx.app}.socket"))
        yield from self._report_failed(facts, ctx)
        yield from django.findings(ctx, working_release(facts, ctx), facts)  # before the release goes live
        yield from plan_gate(ctx, facts, module=s.module, worker_class=worker_class(s), path=s.health_path,
                             wait=s.boot_timeout, env_files=env_files(ctx), watch=s.watch)
        yield from self._plan_serving(s, facts, ctx, files_changed)
        yield from self._retire_legacy(facts, ctx)
        yield from self._report_exposure(facts, ctx, files_changed)

    def _report_exposure(self, facts: FactValues, ctx: Context, files_changed: bool) -> Iterator[Ok | Warn]:
        """How much the live release's unit may do, as its server's systemd scores it (sandbox.EXPOSURE_TARGET)."""
        live = current_release(facts, ctx)
        if live is None or pending_release(facts, ctx) is not None:
            return
        note = sandbox.exposure_note(unit_name(ctx, live), facts[UnitExposure(unit_name(ctx, live))],
                                     rewriting=files_changed)
        if note is not None:
            yield note

    def _report_failed(self, facts: FactValues, ctx: Context) -> Iterator[Warn]:
        """A release the switch sent back (or that never started), until a release goes live."""
        marker = facts[FileInfo(failed_marker(ctx))]
        words = (marker.text() or "").split(maxsplit=2) if marker else []
        if len(words) == 3:
            yield Warn(_("release {id} failed at {when} ({why}) and was switched back; the reason and its log are in "
                         "the output of that run, and `journalctl -u {unit}`").format(
                             id=words[0], when=words[1], why=words[2], unit=unit_name(ctx, words[0])))

    def _plan_serving(self, s: AppServerSettings, facts: FactValues, ctx: Context,
                      files_changed: bool) -> Iterator[Change | Ok]:
        """When no release waits behind the gate: the live release's own unit serves it, with the current
        units and environment."""
        live = current_release(facts, ctx)
        if live is None or pending_release(facts, ctx) is not None:
            return
        unit = unit_name(ctx, live)
        state = facts[UnitProperties(unit)]
        dropin = facts[FileInfo(dropin_path(ctx))]
        named = dropin is not None and dropin.text() == dropin_text(ctx, live)
        if state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled" or not named:
            yield RunCommand(_("serve release {id} from its own unit {unit}").format(id=live, unit=unit),
                             live_switch(ctx, live, s.health_path, 0, before=None),
                             timeout=s.boot_timeout + 180, skip_if=serving(ctx, live), leaves=switch_leaves(ctx, live))
            return
        age = facts[env_age(unit, ctx)]
        env_newer, rebuilt = EnvAge.newer(age), not files_changed and EnvAge.newer(age, "packages")
        if not (files_changed or env_newer or rebuilt):
            yield Ok(_("release {id} is served by {unit}").format(id=live, unit=unit))
            return
        # after this step's own change, or else until the unit started after the files changed
        once = {"after_change": True} if files_changed else {
            "skip_if": started_after(unit, [*env_files(ctx), *venv_marks(ctx)])}
        if files_changed or rebuilt:  # settings, or packages, the live release never ran with: tried first
            try_why = (_("try release {id} with its reinstalled packages on a socket of its own before {unit} "
                         "restarts with them (the live release keeps serving if it fails)") if rebuilt else
                       _("try release {id} with the new settings on a socket of its own before {unit} "
                         "restarts with them (the live release keeps serving if it fails)"))
            yield RunCommand(try_why.format(id=live, unit=unit),
                             candidate(ctx, live, module=s.module, worker_class=worker_class(s), path=s.health_path,
                                       wait=s.boot_timeout, env_files=env_files(ctx)),
                             timeout=s.boot_timeout + 120, **once)
        why = (_("restart {unit} to use the new settings (requests wait in the socket's queue meanwhile)")
               if files_changed else
               _("restart {unit}: the packages in its virtual environment changed after it started (its gunicorn "
                 "workers still use the old files)") if rebuilt else
               _("restart {unit}: its environment files changed after it started (systemd reads them only at a "
                 "start)"))
        yield RunCommand(why.format(unit=unit), cmd("systemctl", "restart", unit), timeout=s.boot_timeout + 60, **once)

    def _retire_legacy(self, facts: FactValues, ctx: Context) -> Iterator[Change]:
        legacy = self._legacy_unit(ctx)
        if facts[FileInfo(legacy)] is not None:
            yield RunCommand(_("remove {path}: each release has its own unit now").format(path=legacy),
                             sh('systemctl disable --quiet "$1" 2>/dev/null; systemctl stop "$1" 2>/dev/null; '
                                'rm -f "$2" && systemctl daemon-reload', f"{ctx.app}.service", legacy),
                             skip_if=guards.missing(legacy))

    def go_live(self, settings: StepSettings, ctx: Context, release: str, before: str) -> list[RunCommand]:
        """A rollback's way to a release: its gate, then the same switch and watch as a new release, each with
        what it waits for (the rollback says it as it goes)."""
        assert isinstance(settings, AppServerSettings)
        return list(gate_and_switch(ctx, release, before, module=settings.module, worker_class=worker_class(settings),
                                    path=settings.health_path, wait=settings.boot_timeout, env_files=env_files(ctx),
                                    watch=settings.watch))

    def verify(self, s: AppServerSettings, ctx: Context) -> list[RunCommand]:
        return [verify_live(ctx, s.health_path)]
