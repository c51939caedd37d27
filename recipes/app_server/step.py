"""Step app_server: gunicorn as a socket-activated systemd service that reloads gracefully on new releases."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.app_server import django
from recipes.app_server.facts import CpuCount, EnvAge
from recipes.app_server.gate import candidate, plan_gate, probe_for, verify_live
from recipes.shared import guards
from recipes.shared.common import (
    app_dirs,
    dir_facts,
    done_for,
    ensure_dirs,
    mark_done,
    marker_path,
    release_facts,
    switch_link,
    working_release,
)
from recipes.shared.facts import UnitProperties
from recipes.shared.web import media_root, static_files, static_root
from wizard.engine.commands import Command, Secret, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Later,
    Ok,
    PlanError,
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


def unit_dir() -> str:
    return "/etc/systemd/system"


def env_files(ctx: Context) -> list[str]:
    return [f"{ctx.env_dir}/app.env", f"{ctx.env_dir}/database.env"]


def unit_values(s: AppServerSettings, ctx: Context, workers: int) -> dict[str, object]:
    """What the socket and service templates are rendered with."""
    return {"app": ctx.app, "user": ctx.user, "socket": ctx.socket, "current": ctx.current, "venv": ctx.venv,
            "env_files": env_files(ctx), "workers": workers, "timeout": s.timeout, "module": s.module,
            "worker_class": "uvicorn.workers.UvicornWorker" if s.worker_class == "uvicorn" else ""}


class AppServer(Step):
    name = "app_server"
    order = 700
    title = "App server (gunicorn)"
    Settings = AppServerSettings
    teaching = Teaching(
        why="gunicorn runs the app with several worker processes under systemd, which restarts it when it "
            "crashes and starts it at boot. systemd owns the socket nginx talks to, so a restart loses no request. "
            "A new release never goes live untried: it starts beside the live one on its own socket and is asked "
            "its health path the way nginx will ask it (the site's name, https behind TLS). Only a 2xx answer "
            "switches `current` and reloads gunicorn gracefully; a release that fails shows its answer and its own "
            "log, and the live one keeps serving. Reload or restart? `systemctl reload APP.service` (gunicorn's "
            "HUP) starts new workers with the new code while the old ones finish their requests: what a new "
            "release needs. `restart` stops every worker at once and cuts the requests they were serving; the step "
            "restarts only when the unit or the app's environment changed, which a reload does not read again.",
        # the question first: systemd starts gunicorn at the first connection (after a reboot, say)
        verify=[Check("curl -sS -i --fail-with-body --unix-socket /run/APP/gunicorn.sock -H 'Host: SITE' "
                      "-H 'X-Forwarded-Proto: SCHEME' HEALTH_URL", root=True,
                      note="ask the app through its socket, the way nginx does"),
                Check("systemctl status --no-pager APP.socket APP.service",
                      note="both active: systemd holds the socket, gunicorn serves it"),
                Check("journalctl -u APP.service -n 50 --no-pager", root=True,
                      note="the app's own output: errors, tracebacks, print()"),
                Check("tail -n 20 /var/log/APP/access.log", note="gunicorn's access log, a line per request")],
        troubleshoot=[
            ("502 Bad Gateway from nginx",
             "gunicorn does not answer: `journalctl -u APP.service` shows why (often an import error in the app)."),
            ("connect() to unix:/run/APP/gunicorn.sock failed (13: Permission denied)",
             "nginx (www-data) cannot open the socket: the socket unit sets its group to www-data, mode 0660."),
            ("ModuleNotFoundError: No module named",
             "module points to the wrong place, or a requirement is missing from requirements.txt."),
            ("Django: Bad Request (400) for every page",
             "ALLOWED_HOSTS lacks the site's name. In settings.py: ALLOWED_HOSTS = "
             "os.environ[\"ALLOWED_HOSTS\"].split(\",\"), and in the recipe's app_server env: ALLOWED_HOSTS."),
            ("Django: CSRF verification failed on every form behind HTTPS",
             "In settings.py: CSRF_TRUSTED_ORIGINS = os.environ[\"CSRF_TRUSTED_ORIGINS\"].split(\",\") with "
             "https://DOMAIN in the recipe's env, and SECURE_PROXY_SSL_HEADER = "
             "(\"HTTP_X_FORWARDED_PROTO\", \"https\")."),
            ("Django: a 500 error and nothing in journalctl -u APP.service",
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
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        """The module, and the question the health check asks (the site's name, https behind TLS)."""
        assert isinstance(settings, AppServerSettings)
        probe = probe_for(ctx, ctx.socket, settings.health_path, 30)
        return {"MODULE": settings.module, "SITE": probe.host, "SCHEME": "https" if probe.https else "http",
                "HEALTH_URL": f"http://{probe.host}{probe.path}"}

    def _paths(self, ctx: Context) -> tuple[str, str, str]:
        return (f"{unit_dir()}/{ctx.app}.socket", f"{unit_dir()}/{ctx.app}.service", f"{ctx.env_dir}/app.env")

    def facts(self, s: AppServerSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        socket_unit, service_unit, env_file = self._paths(ctx)
        yield CpuCount()
        yield from dir_facts(app_dirs(ctx))
        yield from (FileInfo(socket_unit), FileInfo(service_unit), FileInfo(env_file))
        yield UnitProperties(f"{ctx.app}.socket")
        yield UnitProperties(f"{ctx.app}.service")
        yield from release_facts(ctx)
        yield FileInfo(marker_path(ctx, "served"))
        yield EnvAge(f"{ctx.app}.service", tuple(env_files(ctx)))
        if all(fact in known for fact in release_facts(ctx)):
            yield from django.report_facts(ctx, working_release(known, ctx), known)

    # The app's environment, offered to the code step (recipes.shared.web.AppEnvironment): written right after
    # the checkout, before migrations or collectstatic run any of the app's code.
    def env_facts(self, ctx: Context) -> list[Fact]:
        return [FileInfo(f"{ctx.env_dir}/app.env")]

    def env_changes(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, AppServerSettings)
        path = f"{ctx.env_dir}/app.env"
        yield from file_change(_("write the app's environment to {path}").format(path=path), path,
                               self._env_content(settings, ctx), facts[FileInfo(path)], mode="0640", owner="root",
                               group=ctx.user)

    def _env_content(self, s: AppServerSettings, ctx: Context) -> str | Secret:
        static = static_files(ctx)
        lines = ["# Managed by deploy-wizard (step app_server)."]
        if static:
            lines.append(f"STATIC_ROOT={static_root(static, ctx)}")
            if static.media:
                lines.append(f"MEDIA_ROOT={media_root(ctx)}")
        lines += [f"{k}='{v}'" for k, v in sorted(s.env.items())]
        text = "\n".join(lines) + "\n"
        if not s.secret_env:
            return text
        parts: list[str | Secret] = [text]
        for name, ref in sorted(s.secret_env.items()):
            value = ctx.secret(ref, f"app_server.secret_env.{name}")
            if "\n" in value.reveal() or "'" in value.reveal():
                raise PlanError(_("the secret for {name} holds a new line or a single quote, which an env file "
                                  "cannot carry").format(name=name))
            parts += [f"{name}='", value.derive(value.reveal(), "env_value"), "'\n"]
        return Secret.join("app.env", *parts)

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
                               service_unit, render("gunicorn.service.j2", **values), facts[FileInfo(service_unit)],
                               check=verify)
        yield from changed
        files_changed = any(isinstance(c, PutFile) for c in changed)
        socket_state = facts[UnitProperties(f"{ctx.app}.socket")]
        service_state = facts[UnitProperties(f"{ctx.app}.service")]
        needs_reload = any(state.get("NeedDaemonReload") == "yes" for state in (socket_state, service_state))
        if files_changed or needs_reload:
            yield RunCommand(_("make systemd read the changed units"), cmd("systemctl", "daemon-reload"),
                             after_change=True)
        if socket_state.get("UnitFileState") != "enabled" or socket_state.get("ActiveState") != "active":
            yield RunCommand(_("start the socket now and at every boot"),
                             cmd("systemctl", "enable", "--now", f"{ctx.app}.socket"),
                             skip_if=guards.unit_running(f"{ctx.app}.socket"))
        else:
            yield Ok(_("{unit} is enabled and listening").format(unit=f"{ctx.app}.socket"))
        yield from django.findings(ctx, working_release(facts, ctx), facts)  # before the release goes live
        yield from plan_gate(ctx, facts, module=s.module, worker_class=unit_values(s, ctx, 1)["worker_class"],
                             path=s.health_path, wait=s.boot_timeout, env_files=env_files(ctx))
        yield from self._plan_serving(facts, ctx, files_changed, service_state)

    def _plan_serving(self, facts: FactValues, ctx: Context, files_changed: bool,
                      service_state: dict[str, str]) -> Iterator[Change | Ok]:
        """Make the running gunicorn serve the live release with the current environment."""
        release = working_release(facts, ctx)  # the staged one, once the gate above switched to it
        served = facts[FileInfo(marker_path(ctx, "served"))]
        served_release = (served.text() or "").strip() if served else None
        active = service_state.get("ActiveState") == "active"
        age = facts[EnvAge(f"{ctx.app}.service", tuple(env_files(ctx)))]
        env_newer = bool(age["started"] and age["changed"] and age["changed"] > age["started"])
        if active and (files_changed or env_newer):
            why = (_("restart {unit} to use the new settings") if files_changed else
                   _("restart {unit}: its environment changed since it started (a new database password?)"))
            yield RunCommand(why.format(unit=f"{ctx.app}.service"), cmd("systemctl", "restart", f"{ctx.app}.service"),
                             after_change=files_changed, skip_if=None if files_changed else sh(
                                 's=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix "$1"); s=${s#@}; shift; '
                                 'for f; do [ -e "$f" ] && [ "$(stat -c %Y "$f")" -gt "${s:-0}" ] && exit 1; done; '
                                 'exit 0', f"{ctx.app}.service", *env_files(ctx)))
        elif release and served_release != release:
            yield RunCommand(_("reload gunicorn gracefully for release {id}").format(id=release),
                             cmd("systemctl", "try-reload-or-restart", f"{ctx.app}.service"),
                             skip_if=done_for(ctx, "served", release))
        if release and served_release != release:
            yield RunCommand(_("remember that release {id} is served").format(id=release),
                             mark_done(ctx, "served", release), skip_if=done_for(ctx, "served", release))
        if not files_changed and not env_newer and release and served_release == release:
            yield Ok(_("gunicorn serves release {id}").format(id=release))

    def go_live(self, settings: StepSettings, ctx: Context, release: str) -> list[Command]:
        assert isinstance(settings, AppServerSettings)
        return [candidate(ctx, release, module=settings.module, worker_class=unit_values(settings, ctx, 1)[
                    "worker_class"], path=settings.health_path, wait=settings.boot_timeout, env_files=env_files(ctx)),
                switch_link(ctx.current, release), cmd("systemctl", "try-reload-or-restart", f"{ctx.app}.service"),
                mark_done(ctx, "served", release), verify_live(ctx, settings.health_path).command]

    def verify(self, s: AppServerSettings, ctx: Context) -> list[RunCommand]:
        return [verify_live(ctx, s.health_path)]
