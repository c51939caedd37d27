"""Pieces several steps share: directories, release markers, running as the app user, and host facts that
belong to the app layout rather than to the core (symlinks, release lists, CPU count, systemd properties).

Why markers: "run migrations when the release changes" must survive crashes and re-runs. A marker file in
shared/state records the release a one-off action last ran for; the fact is the marker, so a second apply
sees nothing to do, and a crash before the marker is written simply runs the action again.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from recipes.shared import guards
from recipes.shared.facts import Readlink
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, FileState, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, RunCommand, file_change, file_leaves

_ = translator(__file__)


# ------------------------------------------------------------------------------------------ changes


@dataclass(frozen=True)
class DirSpec:
    path: str
    owner: str = "root"
    group: str = "root"
    mode: str = "755"


def ensure_dirs(specs: Iterable[DirSpec], facts: FactValues) -> Iterator[Change | Ok]:
    """One `install -d` per directory that is missing or has the wrong owner/mode."""
    for spec in specs:
        state = facts[PathInfo(spec.path)]
        if state and state["type"] == "directory" and (state["mode"], state["owner"], state["group"]) == (
                spec.mode, spec.owner, spec.group):
            continue
        yield RunCommand(_("create {path} ({owner}:{group}, mode {mode})").format(
            path=spec.path, owner=spec.owner, group=spec.group, mode=spec.mode),
            cmd("install", "-d", "-m", "0" + spec.mode, "-o", spec.owner, "-g", spec.group, spec.path),
            skip_if=guards.dir_is(spec.path, spec.mode, spec.owner, spec.group),
            leaves=((PathInfo(spec.path), {"type": "directory", "mode": spec.mode, "owner": spec.owner,
                                           "group": spec.group}),))


def dir_facts(specs: Iterable[DirSpec]) -> list[Fact]:
    return [PathInfo(spec.path) for spec in specs]


def app_dirs(ctx: Context) -> list[DirSpec]:
    """The layout every app step relies on; each step that needs it ensures it (the specs are identical).

    Why root owns the top and the env directory: root works in these directories (it writes the env files,
    switches `current`, creates the app's directories). Had the app user owned them, it could plant a symlink
    there (shared/env -> /etc) and have root write or chown through it. The app user owns only what it
    writes itself: releases, the markers, media; it can read its env files, not replace them.
    """
    return [
        DirSpec(ctx.base, "root", "root", "755"),
        DirSpec(ctx.releases, ctx.user, ctx.user, "755"),
        DirSpec(ctx.shared, "root", "root", "755"),
        DirSpec(ctx.env_dir, "root", ctx.user, "750"),
        DirSpec(ctx.state_dir, ctx.user, ctx.user, "755"),
        DirSpec(ctx.home, ctx.user, ctx.user, "750"),
        DirSpec(ctx.venv, ctx.user, ctx.user, "755"),
    ]


def next_link(ctx: Context) -> str:
    """A release checked out and not yet live: `next` points to it until the app server's gate switches."""
    return f"{ctx.base}/next"


def linked_release(facts: FactValues, path: str) -> str | None:
    target = facts[Readlink(path)]
    return target.rstrip("/").rsplit("/", 1)[-1] if target else None


def current_release(facts: FactValues, ctx: Context) -> str | None:
    """The release `current` points to (its directory name), or None before the first deploy."""
    return linked_release(facts, ctx.current)


def pending_release(facts: FactValues, ctx: Context) -> str | None:
    """The release waiting behind the gate (`next`), unless it is the live one already."""
    pending = linked_release(facts, next_link(ctx))
    return pending if pending and pending != current_release(facts, ctx) else None


def working_release(facts: FactValues, ctx: Context) -> str | None:
    """Where one-off release work (migrations, collectstatic) runs: the pending release, else the live one."""
    return pending_release(facts, ctx) or current_release(facts, ctx)


def release_facts(ctx: Context) -> list[Fact]:
    return [Readlink(ctx.current), Readlink(next_link(ctx))]


def link_leaves(link: str, release: str) -> tuple[tuple[Fact, str], ...]:
    """What a switch leaves: the link names the release (for the steps a dry run plans after it)."""
    return ((Readlink(link), f"releases/{release}"),)


def switch_link(link: str, release: str) -> Command:
    """Point `link` at releases/<release> atomically (a new link renamed over the old: never missing). Run as
    root in the root-owned app directory, so nobody else can swap the link in between."""
    return sh('ln -sfn "$1" "$2.new" && mv -Tf "$2.new" "$2"', f"releases/{release}", link)


def marker_path(ctx: Context, action: str) -> str:
    return f"{ctx.state_dir}/{action}"


def marker_facts(ctx: Context, action: str) -> list[Fact]:
    return [*release_facts(ctx), FileInfo(marker_path(ctx, action))]


def marker_pending(facts: FactValues, ctx: Context, action: str) -> str | None:
    """The working release (pending, else live) when `action` has not run for it yet, else None."""
    release = working_release(facts, ctx)
    marker = facts[FileInfo(marker_path(ctx, action))]
    done = (marker.text() or "").strip() if marker else None
    return release if release and release != done else None


APP_ENV = ('set -a; for f in "$DW_ENV_DIR"/*.env; do [ -r "$f" ] && . "$f"; done; set +a; cd "$DW_RELEASE"; ')


# Root reads a DATABASE_URL from a file only root may read ($1) and hands it to the app user's run ($2) in the
# environment (never on a command line, where `ps` shows it); the app's env files load first, then it replaces
# theirs. Then the env dir, the release, HOME, the script and its arguments.
OTHER_DATABASE = ('set -a; . "$1" || exit 1; set +a; DW_DATABASE_URL=$DATABASE_URL; export DW_DATABASE_URL; '
                  'unset DATABASE_URL; u="$2"; e="$3"; r="$4"; h="$5"; s="$6"; shift 6; '
                  'exec runuser -u "$u" -- env DW_ENV_DIR="$e" DW_RELEASE="$r" HOME="$h" sh -c "$s" sh "$@"')
USE_OTHER_DATABASE = 'export DATABASE_URL="$DW_DATABASE_URL"; unset DW_DATABASE_URL; '


def as_app(ctx: Context, script: str, *args: str, release: str | None = None, display: str | None = None,
           database_url_from: str | None = None) -> Command:
    """A script run as the app user in a release (default: the live one), with the app's env files loaded
    the way the service loads them. `database_url_from`: a root-only env file whose DATABASE_URL replaces the
    app's for this run (the owner role's, for migrations: recipes/database/roles.py)."""
    where = f"{ctx.releases}/{release}" if release else ctx.current
    if database_url_from is not None:
        return sh(OTHER_DATABASE, database_url_from, ctx.user, ctx.env_dir, where, ctx.home,
                  APP_ENV + USE_OTHER_DATABASE + script, *args, display=display)
    return sh(APP_ENV + script, *args, user=ctx.user,
              env={"DW_ENV_DIR": ctx.env_dir, "DW_RELEASE": where, "HOME": ctx.home}, display=display)


def chained(words: list[str]) -> tuple[str, list[str]]:
    """The script and the arguments that run `words` as commands joined by `&&` words (a CommandChain), each
    word an argument after $1 (the venv): the script names positions only ("${2}" "${3}" && "${4}"), so no
    value is ever part of the shell text. One command keeps the plain `exec "$@"`."""
    if "&&" not in words:
        return 'PATH="$1/bin:$PATH"; shift; exec "$@"', words
    groups: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            groups.append([])
        else:
            groups[-1].append(word)
    if not all(groups):
        raise ValueError(f"an empty command around && in {shlex.join(words)}")
    commands, position = [], 2
    for group in groups:
        commands.append(" ".join(f'"${{{position + i}}}"' for i in range(len(group))))
        position += len(group)
    return 'PATH="$1/bin:$PATH"; ' + " && ".join(commands), [w for w in words if w != "&&"]


def shown_command(command: str) -> str:
    """A command setting (plain words, or such commands joined by `&&`) as plans and logs show it: each word
    quoted as a shell would need it to mean what runs, since it runs as arguments and never goes through a shell.

    Why not the text as typed: `collect_command: '*'` runs the program `*`, but shown as typed it reads as a
    glob that never happens; `'*'` is what a shell would need to run the same thing."""
    words = shlex.split(command)
    groups: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            groups.append([])
        else:
            groups[-1].append(word)
    return " && ".join(shlex.join(group) for group in groups)


def once_per_release(ctx: Context, release: str, action: str, command: str, *, why: str, remember: str,
                     timeout: float, database_url_from: str | None = None) -> Iterator[Change]:
    """A command of the app's own (migrations, collectstatic, a front-end build) run once for a release, as the
    app user in that release with the venv first on PATH, then remembered by a marker: a crash before the
    marker runs it again, a re-run skips it. `command` is plain words, or such commands joined by `&&`.
    `database_url_from`: see as_app."""
    script, args = chained(shlex.split(command))
    yield RunCommand(why, as_app(ctx, script, ctx.venv, *args, release=release,
                                 display=f"cd {ctx.releases}/{release} && " + (
                                     f"DATABASE_URL=<from {database_url_from}> " if database_url_from else "")
                                 + shown_command(command),
                                 database_url_from=database_url_from),
                     timeout=timeout, skip_if=done_for(ctx, action, release))
    yield RunCommand(remember, mark_done(ctx, action, release), skip_if=done_for(ctx, action, release),
                     leaves=marker_leaves(ctx, action, release))


def marker_leaves(ctx: Context, action: str, release: str) -> tuple[tuple[Fact, FileState], ...]:
    return file_leaves(marker_path(ctx, action), f"{release}\n".encode(), owner=ctx.user, group=ctx.user)


def mark_done(ctx: Context, action: str, release: str) -> Command:
    return sh('printf "%s\\n" "$1" > "$2"', release, marker_path(ctx, action), user=ctx.user)


def done_for(ctx: Context, action: str, release: str) -> Command:
    """The export guard of a once-per-release action: its marker names the release."""
    return guards.file_is(marker_path(ctx, action), release)


def managed_file(why: str, path: str, content: str, facts: FactValues, **kw: object) -> Iterator[Change | Ok]:
    """file_change for a file whose fact the step asked for."""
    yield from file_change(why, path, content, facts[FileInfo(path)], **kw)  # type: ignore[arg-type]
