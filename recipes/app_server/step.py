"""Step app_server: gunicorn as a socket-activated systemd service that reloads gracefully on new releases."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.app_server.facts import CpuCount
from recipes.shared import guards
from recipes.shared.common import app_dirs, current_release, dir_facts, done_for, ensure_dirs, mark_done, marker_path
from recipes.shared.facts import Readlink, UnitProperties
from recipes.shared.web import media_root, static_files, static_root
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import (
    Change,
    Context,
    Ok,
    PlanError,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    file_change,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import SecretRef

_ = translator(__file__)
render = renderer(__file__)

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(\(\))?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_ENV_VALUE = re.compile(r"^[A-Za-z0-9_./:@%+,=\-]{0,500}$")


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
            raise ValueError(_("the value of {name} may only hold letters, digits and _ . / : @ % + , = - "
                               "(put anything else in secret_env)").format(name=name))
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
        "/", description="Path asked after a change to prove the app answers.")


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
            "crashes and starts it at boot. systemd owns the socket nginx talks to, so a restart or a new "
            "release loses no request: gunicorn reloads its workers gracefully on a HUP signal.",
        verify=["systemctl status APP.socket APP.service", "curl --unix-socket /run/APP/gunicorn.sock http://localhost/",
                "journalctl -u APP.service -n 50"],
        troubleshoot=[
            ("502 Bad Gateway from nginx",
             "gunicorn does not answer: `journalctl -u APP.service` shows why (often an import error in the app)."),
            ("connect() to unix:/run/APP/gunicorn.sock failed (13: Permission denied)",
             "nginx (www-data) cannot open the socket: the socket unit sets its group to www-data, mode 0660."),
            ("ModuleNotFoundError: No module named",
             "module points to the wrong place, or a requirement is missing from requirements.txt."),
        ],
    )

    def _paths(self, ctx: Context) -> tuple[str, str, str]:
        return (f"{unit_dir()}/{ctx.app}.socket", f"{unit_dir()}/{ctx.app}.service", f"{ctx.env_dir}/app.env")

    def facts(self, s: AppServerSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        socket_unit, service_unit, env_file = self._paths(ctx)
        yield CpuCount()
        yield from dir_facts(app_dirs(ctx))
        yield from (FileInfo(socket_unit), FileInfo(service_unit), FileInfo(env_file))
        yield UnitProperties(f"{ctx.app}.socket")
        yield UnitProperties(f"{ctx.app}.service")
        yield Readlink(ctx.current)
        yield FileInfo(marker_path(ctx, "served"))

    def _env_content(self, s: AppServerSettings, ctx: Context) -> str | Secret:
        static = static_files(ctx)
        lines = ["# Managed by deploy-wizard (step app_server)."]
        if static:
            lines.append(f"STATIC_ROOT={static_root(static, ctx)}")
            if static.media:
                lines.append(f"MEDIA_ROOT={media_root(ctx)}")
        lines += [f"{k}={v}" for k, v in sorted(s.env.items())]
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

    def plan(self, s: AppServerSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        socket_unit, service_unit, env_file = self._paths(ctx)
        workers = s.workers or 2 * facts[CpuCount()] + 1
        values = unit_values(s, ctx, workers)
        yield from ensure_dirs(app_dirs(ctx), facts)
        changed: list[Change | Ok] = list(file_change(
            _("write the app's environment to {path}").format(path=env_file), env_file, self._env_content(s, ctx),
            facts[FileInfo(env_file)], mode="0600", owner=ctx.user, group=ctx.user))
        verify = cmd("systemd-analyze", "verify", service_unit, display=f"systemd-analyze verify {service_unit}")
        changed += file_change(_("write the socket unit {path}").format(path=socket_unit), socket_unit,
                               render("gunicorn.socket.j2", **values), facts[FileInfo(socket_unit)])
        # a unit systemd rejects is put back before anything loads it
        changed += file_change(_("write the service unit {path} ({n} workers)").format(path=service_unit, n=workers),
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
        release = current_release(facts, ctx)
        served = facts[FileInfo(marker_path(ctx, "served"))]
        served_release = (served.text() or "").strip() if served else None
        if files_changed and service_state.get("ActiveState") == "active":
            yield RunCommand(_("restart {unit} to use the new settings").format(unit=f"{ctx.app}.service"),
                             cmd("systemctl", "restart", f"{ctx.app}.service"), after_change=True)
        elif release and served_release != release:
            yield RunCommand(_("reload gunicorn gracefully for release {id}").format(id=release),
                             cmd("systemctl", "try-reload-or-restart", f"{ctx.app}.service"),
                             skip_if=done_for(ctx, "served", release))
        if release and served_release != release:
            yield RunCommand(_("remember that release {id} is served").format(id=release),
                             mark_done(ctx, "served", release), skip_if=done_for(ctx, "served", release))
        if not files_changed and release and served_release == release:
            yield Ok(_("gunicorn serves release {id}").format(id=release))

    def verify(self, s: AppServerSettings, ctx: Context) -> list[RunCommand]:
        return [RunCommand(
            _("ask the app through its socket: {path}").format(path=s.health_path),
            sh('code=$(curl -s -o /dev/null -w "%{http_code}" --retry 10 --retry-connrefused --retry-delay 1 '
               '-m 30 --unix-socket "$1" "http://localhost$2"); echo "HTTP $code"; '
               'case "$code" in 2??|3??|401|403|404) exit 0;; *) exit 1;; esac', ctx.socket, s.health_path,
               display=f"curl --unix-socket {ctx.socket} http://localhost{s.health_path}"))]
