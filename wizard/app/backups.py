"""`deploy-wizard backup`, `restore` and the rollback note on migrations: they ask the recipe's step that keeps
backups (the backups step, through wizard.engine.backups.BackupKeeper), so the application never imports it.

Why restore is four commands and not one script: the migrations between the data and the start belong to the
database step, and the start must run whatever happened before it (a failed restore leaves the database as it
was, in one transaction, and the app must come back either way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wizard.app.recipefile import Recipe
from wizard.engine.backups import BackupKeeper
from wizard.engine.commands import Command
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _
from wizard.engine.step import Context, StepSettings
from wizard.engine.transports.base import Transport

OFFSITE = "offsite:"
SET_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9_.-]{1,100}$")
Say = Callable[[str], None]
# what visitors read during a restore (the site's words, not the operator's language, like maintenance's default)
RESTORE_PAGE = "This site is being restored from a backup and will be back shortly."


class NoBackupsError(DeployWizardError):
    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Keeper:
    step: BackupKeeper
    settings: StepSettings
    ctx: Context


def keeper(recipe: Recipe) -> Keeper:
    """The recipe's backups step; a recipe without one is refused before connecting."""
    ctx = recipe.context()
    for step, settings in recipe.selected():
        if isinstance(step, BackupKeeper):
            return Keeper(step, settings, ctx)
    raise NoBackupsError(_("this recipe keeps no backups (it has no backups step): add `backups: {}` under steps "
                           "and apply it"))


def set_name(text: str) -> str:
    """A backup set as `--from` names it: its name (20261204T031500Z-scheduled), as `backup --list` shows."""
    name = text.rstrip("/").rsplit("/", 1)[-1]
    if not SET_NAME.match(name):
        raise NoBackupsError(_("--from: '{v}' is not a backup set name like 20261204T031500Z-scheduled "
                               "(`deploy-wizard backup FILE --list` lists them)").format(v=text))
    return name


def offsite_wanted(text: str) -> str | None:
    """`--from offsite:SET` or `--from offsite:latest`: the set to bring back from the off-server copy first
    (None: `--from` names a set on the server)."""
    if not text.startswith(OFFSITE):
        return None
    want = text.removeprefix(OFFSITE)
    return want if want == "latest" else set_name(want)


def fetch_command(found: Keeper, want: str) -> Command:
    """The command that brings `want` back from the off-server copy; refused before connecting when the recipe
    copies nothing off the server."""
    command = found.step.fetch_offsite(found.settings, found.ctx, want)
    if command is None:
        raise NoBackupsError(_("--from offsite:{want}: this recipe copies no backup off the server (set "
                               "backups.offsite_target, offsite_host_key and offsite_key, and apply it)").format(
                                   want=want))
    return command


async def fetch(transport: Transport, command: Command, say: Say) -> str:
    """Run the fetch, showing what it says; its last line (`set=NAME`) names the set it brought."""
    result = await transport.run(command, timeout=6 * 3600, on_output=lambda _stream, line: None if line.startswith(
        "set=") else say(line))
    if not result.ok:
        raise DeployWizardError(_("{what} failed on {host} (exit status {code})").format(
            what=_("bringing the set back from the off-server copy"), host=transport.label, code=result.exit_status))
    fetched = [line[4:].strip() for line in result.stdout.splitlines() if line.startswith("set=")]
    if not fetched or not SET_NAME.match(fetched[-1]):
        raise DeployWizardError(_("the off-server copy on {host} named no set").format(host=transport.label))
    return fetched[-1]


async def _run(transport: Transport, command: Command, say: Say, what: str, timeout: float = 6 * 3600) -> None:
    result = await transport.run(command, on_output=lambda _stream, line: say(line), timeout=timeout)
    if not result.ok:
        raise DeployWizardError(_("{what} failed on {host} (exit status {code})").format(
            what=what, host=transport.label, code=result.exit_status))


async def backup(transport: Transport, found: Keeper, say: Say) -> None:
    await _run(transport, found.step.backup_now(found.settings, found.ctx), say, _("the backup"))


async def drill(transport: Transport, found: Keeper, dump: str | None, say: Say) -> None:
    await _run(transport, found.step.drill_now(found.settings, found.ctx, dump), say, _("the restore drill"))


async def sets(transport: Transport, found: Keeper) -> list[str]:
    """The backup sets on the server, oldest first."""
    result = await transport.run(found.step.list_backups(found.settings, found.ctx))
    return sorted(line.strip() for line in result.stdout.splitlines() if SET_NAME.match(line.strip()))


async def restore(transport: Transport, found: Keeper, dump: str, say: Say, recipe: Recipe | None = None) -> None:
    """Stop the app's units, restore, migrate, and start what was stopped, whatever happened in between. With
    nginx in the recipe, visitors meanwhile get the maintenance page instead of a 502 (when it was not on)."""
    from wizard.app import maintenance

    plan = found.step.restore_plan(found.settings, found.ctx, dump)
    paused = False
    if recipe is not None and "nginx" in {step.name for step, _settings in recipe.selected()}:
        paused = (await maintenance.switch(transport, recipe, "on", RESTORE_PAGE)).changed
        if paused:
            say(_("maintenance mode is on while the data is restored"))
    try:
        await _run(transport, plan.stop, say, _("stopping the app"), timeout=300)
        try:
            await _run(transport, plan.data, say, _("the restore of {set}").format(set=dump))
            if plan.migrate is not None:
                say(_("running the migrations: {command}").format(command=plan.migrate.summary()))
                await _run(transport, plan.migrate, say, _("the migrations"), timeout=3600)
        finally:
            await _run(transport, plan.start, say, _("starting the app again"), timeout=600)
    finally:
        if paused and recipe is not None:
            await maintenance.switch(transport, recipe, "off")
            say(_("maintenance mode is off"))


async def migration_dumps(transport: Transport, found: Keeper) -> dict[str, str]:
    """release -> the newest dump taken before that release migrated (sets named STAMP-premigrate-RELEASE)."""
    dumps: dict[str, str] = {}
    for name in await sets(transport, found):
        kind = name.split("-", 1)[1]
        if kind.startswith("premigrate-"):
            dumps[kind.removeprefix("premigrate-")] = name
    return dumps


def has_backups(recipe: Recipe) -> bool:
    return any(isinstance(step, BackupKeeper) for step, _settings in recipe.selected())
