"""What steps know of each other's web parts, without importing each other.

Why Protocols: the nginx site is written by the nginx step and re-rendered by the tls step once a
certificate exists; nginx and the app server need to know where static and media files live. A step asks
its peer through `ctx.peer(name)` / `ctx.settings(name)` and checks it against these shapes, so a step
package of your own that offers the same shape can stand in for a built-in one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from wizard.engine.facts import Fact, FactValues
from wizard.engine.meaning import Meaning
from wizard.engine.step import Change, Context, Ok, RunCommand, StepSettings


def cert_dir(domain: str) -> str:
    """Where certbot keeps a domain's live certificate: the tls step writes it, the nginx site reads it."""
    return f"/etc/letsencrypt/live/{domain}"


ACME_ROOT = "/var/www/letsencrypt"  # where certbot's HTTP-01 tokens are served from (nginx) and written to (tls)


@runtime_checkable
class StaticFiles(Protocol):
    """The static step's settings, as the app server and nginx read them."""

    collect: str
    source_dir: str
    static_url: str
    media: bool
    media_url: str


@runtime_checkable
class SiteOwner(Protocol):
    """The step that writes the app's nginx site (the nginx step)."""

    def server_names(self, settings: StepSettings) -> list[str]: ...

    def http_port(self, settings: StepSettings) -> int: ...

    def site_facts(self, ctx: Context, known: FactValues) -> list[Fact]: ...

    def site_changes(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]: ...


@runtime_checkable
class AppEnvironment(Protocol):
    """The step that serves the app (app_server): it owns the app's env file and gates every release.

    The code step writes the env file right after a checkout (nothing may run the app's code before it
    exists), and stages a new release behind the gate instead of switching `current` itself.
    """

    def env_facts(self, ctx: Context) -> list[Fact]: ...

    def env_changes(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]: ...

    def env_meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """What must hold of those files, however they were written (the code step's grade)."""
        ...

    def go_live(self, settings: StepSettings, ctx: Context, release: str, before: str) -> list[RunCommand]:
        """Through the gate to the live site from release `before`: try the release beside the live one, switch,
        watch (what `deploy-wizard rollback` runs, in order, stopping at the first that fails); each command's
        `why` says what it waits for, for the progress the rollback shows."""
        ...


@runtime_checkable
class EnvFileOwner(Protocol):
    """A step that writes an env file every process of the app loads (the redis step's REDIS_URL)."""

    def app_env_file(self, ctx: Context) -> str: ...


def app_env_files(ctx: Context) -> list[str]:
    """The env files every process of the app loads, in this order (gunicorn, its gate, workers): the app
    server's app.env, the database step's, then each other step's of the recipe that writes one.

    Why one list: a worker must meet exactly the environment the web release met at its gate, and a step
    that adds a file (REDIS_URL) must reach all of them without each one knowing it by name."""
    files = [f"{ctx.env_dir}/app.env", f"{ctx.env_dir}/database.env"]
    for name in sorted(ctx.steps):
        step = ctx.steps[name]
        if isinstance(step, EnvFileOwner) and ctx.settings(name) is not None:
            files.append(step.app_env_file(ctx))
    return files


def deps_marker(ctx: Context) -> str:
    """What the code step installed into the venv (the hashes of the files it installed from). Inside the venv
    on purpose: a venv made anew has none, and gets everything installed again."""
    return deps_marker_in(ctx.venv)


def deps_marker_in(venv: str) -> str:
    return f"{venv}/.deploy-wizard-requirements"


def venv_marks(ctx: Context) -> list[str]:
    """The files that change when the app's packages change under it: pyvenv.cfg (the venv made anew) and the
    code step's install marker. Why the app's processes compare their start with these: a process keeps the
    modules it imported, and imports the rest from the new files; on the same release nothing else restarts it.
    A new release needs none of this: its switch starts new processes after its install."""
    return [f"{ctx.venv}/pyvenv.cfg", deps_marker(ctx)]


def app_server(ctx: Context) -> tuple[AppEnvironment, StepSettings] | None:
    peer = ctx.peer("app_server")
    if peer is None or not isinstance(peer[0], AppEnvironment):
        return None
    return peer[0], peer[1]


def static_files(ctx: Context) -> StaticFiles | None:
    settings = ctx.settings("static")
    return settings if isinstance(settings, StaticFiles) else None


def static_root(s: StaticFiles, ctx: Context) -> str:
    return f"{ctx.current}/{s.source_dir}" if s.collect == "none" else f"{ctx.shared}/static"


def media_root(ctx: Context) -> str:
    return f"{ctx.shared}/media"


def writable_dirs(ctx: Context) -> list[str]:
    """What the app may write while it runs (recipes/shared/sandbox.py makes everything else read-only): its
    uploads. Its logs (LogsDirectory=), its socket's directory and its private /tmp are systemd's to make
    writable. Its code, venv, env files and markers are written by deploys only, never by the running app, so a
    flaw in the app cannot change the code the next request runs."""
    static = static_files(ctx)
    return [media_root(ctx)] if static and static.media else []


def site(ctx: Context) -> tuple[SiteOwner, StepSettings] | None:
    """The recipe's nginx site owner with its settings, or None when the recipe serves no site."""
    peer = ctx.peer("nginx")
    if peer is None or not isinstance(peer[0], SiteOwner):
        return None
    return peer[0], peer[1]
