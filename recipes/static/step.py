"""Step static: static files collected where nginx serves them, and a media directory for uploads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.shared.common import (
    DirSpec,
    app_dirs,
    dir_facts,
    ensure_dirs,
    marker_facts,
    marker_pending,
    once_per_release,
    shown_command,
    working_release,
)
from recipes.shared.fields import CommandLine, RelativePath
from recipes.shared.meanings import reachable_by
from recipes.shared.web import media_root, static_root
from recipes.static.facts import Ancestors
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import Change, Check, Context, Ok, PlanError, RunCommand, Step, StepSettings, Teaching

_ = translator(__file__)

_URL_PATH = re.compile(r"^/([A-Za-z0-9._\-]+/)+$")


def url_path(value: str) -> str:
    if not _URL_PATH.match(value):
        raise ValueError(_("'{v}' must be a URL path like /static/ (starting and ending with /)").format(v=value))
    return value


URLPath = Annotated[str, AfterValidator(url_path)]


class StaticSettings(StepSettings):
    collect: Literal["none", "django", "command"] = Field("none", description=(
        "'django' runs collectstatic into the shared static directory; 'command' runs collect_command; "
        "'none' serves a directory of the repository as it is."))
    collect_command: CommandLine | None = Field(None, description="With collect: command, the command to run.")
    source_dir: RelativePath = Field("static", description="With collect: none, the repository's static directory.")
    static_url: URLPath = Field("/static/", description="URL prefix of static files.")
    media: bool = Field(True, description="Serve user uploads from a media directory that survives releases.")
    media_url: URLPath = Field("/media/", description="URL prefix of uploaded files.")


class StaticFiles(Step):
    name = "static"
    order = 600
    title = "Static and media files"
    Settings = StaticSettings
    release_part = True
    teaching = Teaching(
        why="nginx serves CSS, JavaScript and images straight from disk, much faster than the app could, and "
            "uploads go to a media directory outside the releases so a deploy never loses them. nginx runs as "
            "www-data: every directory above these files must let it pass (the classic 403 when an app lives in "
            "a private home directory).",
        verify=[Check("namei -l STATIC_DIR", note="every directory on the way must let others pass (x)"),
                Check("ls STATIC_DIR", user="www-data", note="what nginx, as www-data, can read there"),
                Check("namei -l MEDIA_DIR", when={"media": True})],
        troubleshoot=[
            ("403 Forbidden for /static/ files",
             "nginx (www-data) cannot traverse a parent directory: `namei -l <file>` shows which one lacks x."),
            ("404 for /static/ files after a deploy",
             "collectstatic did not run or STATIC_ROOT differs; the app's env has STATIC_ROOT set by the wizard."),
            ("413 Request Entity Too Large on uploads",
             "Raise client_max_body_size in the nginx step."),
        ],
        goal="nginx (www-data) can read the static files, and uploads have a directory outside the releases.",
        section="3.3 Static and media files",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """www-data reaches the static files (and the uploads): the 403 trap, however the modes were set."""
        assert isinstance(settings, StaticSettings)
        found = [reachable_by("www-data", static_root(settings, ctx), _("nginx (www-data) can reach the static "
                                                                         "files in {path}").format(
            path=static_root(settings, ctx)))]
        if settings.media:
            found.append(reachable_by("www-data", media_root(ctx), _("nginx (www-data) can reach the uploads in "
                                                                      "{path}").format(path=media_root(ctx))))
        return found

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, StaticSettings)
        return {"STATIC_DIR": static_root(settings, ctx), "MEDIA_DIR": media_root(ctx)}

    def _dirs(self, s: StaticSettings, ctx: Context) -> list[DirSpec]:
        dirs = app_dirs(ctx)
        if s.collect != "none":
            dirs.append(DirSpec(f"{ctx.shared}/static", ctx.user, ctx.user, "755"))
        if s.media:
            dirs.append(DirSpec(media_root(ctx), ctx.user, ctx.user, "755"))
        return dirs

    def facts(self, s: StaticSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield from dir_facts(self._dirs(s, ctx))
        yield Ancestors(ctx.shared)
        if s.collect != "none":
            yield from marker_facts(ctx, "collected")

    def plan(self, s: StaticSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        yield from ensure_dirs(self._dirs(s, ctx), facts)
        closed = [path for mode, path in facts[Ancestors(ctx.shared)] if not int(mode[-1]) & 1]
        for path in closed:
            yield RunCommand(_("let nginx (www-data) pass through {path}, or it answers 403").format(path=path),
                             cmd("chmod", "o+x", path),
                             skip_if=sh('[ -n "$(find "$1" -maxdepth 0 -perm -001)" ]', path))
        if not closed:
            yield Ok(_("nginx can reach {path}").format(path=ctx.shared))
        if s.collect == "none":
            return
        command = "python manage.py collectstatic --noinput" if s.collect == "django" else s.collect_command
        if not command:
            raise PlanError(_("collect: command needs collect_command"))
        release = marker_pending(facts, ctx, "collected")
        if release is None:
            live = working_release(facts, ctx)
            yield Ok(_("static files collected for release {id}").format(id=live) if live else
                     _("no release to collect static files from yet"))
            return
        yield from once_per_release(
            ctx, release, "collected", command, timeout=1800,
            why=_("collect the static files of release {id}: {command}").format(
                id=release, command=shown_command(command)),
            remember=_("remember that release {id} is collected").format(id=release))
