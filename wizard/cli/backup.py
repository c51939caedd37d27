"""`deploy-wizard backup FILE [--list | --drill [SET]]` and `deploy-wizard restore FILE --from SET [--yes]`: the
backups step's scripts on the server, run now (wizard/app/backups.py). `--from offsite:SET` (or offsite:latest)
first brings the set back from the off-server copy: on a server rebuilt from the recipe, nothing else is left.

Why restore asks even with a fresh backup in hand: it replaces every row written since the set was taken, and
the app is down while it runs, so the operator sees which set, from when, and says yes (or passes --yes).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from wizard.cli.common import load_recipe, questions
from wizard.cli.confirm import confirm
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.backups import Keeper
    from wizard.app.recipefile import Recipe
    from wizard.engine.transports.base import Transport


def _say(line: str) -> None:
    print(line, flush=True)


def _connected(args: argparse.Namespace, recipe: Recipe,
               work: Callable[[Transport], Awaitable[int]]) -> int:
    from wizard.app.session import make_transport
    from wizard.engine.commands import Masker

    async def go() -> int:
        transport = make_transport(recipe, questions(args, recipe), Masker(), args.host)
        try:
            await transport.connect()
            return await work(transport)
        finally:
            await transport.close()

    return asyncio.run(go())


def handle_backup(args: argparse.Namespace) -> int:
    """Take a backup now, list the sets, or run the restore drill."""
    from wizard.app import backups

    recipe = load_recipe(args)
    found = backups.keeper(recipe)
    dump = backups.set_name(args.drill) if args.drill else None

    async def work(transport: Transport) -> int:
        if args.list:
            names = await backups.sets(transport, found)
            for name in names:
                print(name)
            if not names:
                print(_("No backup on {host} yet.").format(host=transport.label))
            return ExitCode.OK
        if args.drill is not None:
            await backups.drill(transport, found, dump, _say)
            return ExitCode.OK
        await backups.backup(transport, found, _say)
        return ExitCode.OK

    return _connected(args, recipe, work)


def handle_restore(args: argparse.Namespace) -> int:
    """Confirm, then stop the app, restore the set, run the migrations and start the app again."""
    from wizard.app import backups
    from wizard.app.deploylock import deploy_lock

    recipe = load_recipe(args)
    found = backups.keeper(recipe)
    want = backups.offsite_wanted(args.dump)
    fetch = backups.fetch_command(found, want) if want is not None else None
    dump = backups.set_name(args.dump) if want is None else ""
    host = args.host or recipe.target.host

    async def work(transport: Transport) -> int:
        nonlocal dump
        if fetch is not None:  # it only adds a set beside the others: done before asking, to name the set
            dump = await backups.fetch(transport, fetch, _say)
        names = await backups.sets(transport, found)
        if dump not in names:
            print(_("No backup set {set} on {host}; there are: {all}").format(
                set=dump, host=host, all=", ".join(names) or _("none")))
            return ExitCode.BAD_INPUT
        question = _("Restore {app} on {host} from {set}? The app stops, every row written since is replaced, "
                     "the migrations run, and the app starts again. [y/N] ").format(app=recipe.name, host=host,
                                                                                    set=dump)
        if fetch is not None and getattr(found.settings, "offsite_kind", "rsync") == "rsync":
            question = _unauthenticated(getattr(found.settings, "offsite_target", "") or "?", dump) + question
        if not await asyncio.to_thread(confirm, question, yes=args.yes,
                                       refusal=_("restore needs --yes when there is no terminal to confirm on.")):
            print(_("Nothing was changed."))
            return ExitCode.OK
        async with deploy_lock(transport, recipe.name, wait=args.lock_wait):
            await backups.restore(transport, found, dump, _say, recipe)
        print(_("{app} on {host} runs on the data of {set}.").format(app=recipe.name, host=host, set=dump))
        return ExitCode.OK

    return _connected(args, recipe, work)


def _unauthenticated(where: str, dump: str) -> str:
    """Said before the restore question for a set fetched from an rsync copy. Why: nothing proves that set is the
    one this server wrote (rsync copies it as the other host hands it over), and the restore runs it with the
    database's superuser rights; a restic repository is authenticated by its password."""
    return _("{set} came from {where} as that host handed it over, unauthenticated (an rsync copy: whoever holds "
             "that host can change it), and it is restored with the database's superuser rights. For rebuilds, "
             "backups.offsite_kind: restic authenticates the copy.\n").format(set=dump, where=where)


def rollback_note(recipe: Recipe, transport: Transport, left: list[str], file: str) -> Awaitable[list[str]]:
    """For `rollback`: what to say of each release left behind that migrated (its dump and how to restore it)."""
    from wizard.app import backups

    async def note() -> list[str]:
        if not backups.has_backups(recipe):
            return []
        found: Keeper = backups.keeper(recipe)
        dumps = await backups.migration_dumps(transport, found)
        return [_("Release {rel} ran migrations: its schema changes stay. The dump taken just before them is "
                  "{set}; to bring the data back to that moment (losing what was written since): "
                  "deploy-wizard restore {file} --from {set}").format(rel=rel, set=dumps[rel], file=file)
                for rel in left if rel in dumps]

    return note()


__all__ = ["handle_backup", "handle_restore", "rollback_note"]
