"""`deploy-wizard rollback FILE [--to RELEASE]`: point the app back at an earlier release.

Why it asks even though it is quick: it changes what a live site serves, and database migrations of the newer
release are not reversed, so the operator is told that first and has to say yes (or pass --yes).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from wizard.cli.common import load_recipe, questions
from wizard.cli.confirm import confirm
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.recipefile import Recipe
    from wizard.app.rollback import Rollback


def handle(args: argparse.Namespace) -> int:
    """Warn, confirm, switch, and say which release is live now."""
    recipe = load_recipe(args)
    print(_("Note: rollback switches the code only. Database migrations of the newer release are NOT reversed."))
    if not confirm(_("Switch {host} to an earlier release? [y/N] ").format(host=args.host or recipe.target.host),
                   yes=args.yes, refusal=_("rollback needs --yes when there is no terminal to confirm on.")):
        print(_("Nothing was changed."))
        return ExitCode.OK
    done, notes = _switch(args, recipe)
    if done.before == done.after:
        print(_("{rel} is already the current release.").format(rel=done.after))
    else:
        print(_("current: {old} -> {new}; release {new} serves. Releases on the server: {all}").format(
            old=done.before, new=done.after, all=", ".join(done.releases)))
        for what in done.moved:
            print(_("{what}: restarted on release {new}").format(what=what, new=done.after))
    for note in notes:
        print(note)
    return ExitCode.OK


def left_behind(done: Rollback) -> list[str]:
    """The releases a rollback went back across: after the one now live, up to the one that was."""
    if done.before not in done.releases or done.after not in done.releases:
        return [done.before] if done.before != done.after else []
    start, end = done.releases.index(done.after), done.releases.index(done.before)
    return done.releases[start + 1:end + 1]


def _progress(text: str) -> None:
    """A stage of the rollback as it starts (the gate, the switch, the watch) and what the switch reports: a note,
    marked as the other commands mark one."""
    print("  · " + text, flush=True)


def _switch(args: argparse.Namespace, recipe: Recipe) -> tuple[Rollback, list[str]]:
    """Connect and switch; a release named with --to that cannot be switched to is bad input (exit 2). Also
    what to say of the releases left behind that migrated (the dump each took first, when backups are kept)."""
    from wizard.app.deploylock import deploy_lock
    from wizard.app.rollback import RollbackError, rollback
    from wizard.app.session import make_transport
    from wizard.cli.backup import rollback_note
    from wizard.engine.commands import Masker

    async def go() -> tuple[Rollback, list[str]]:
        transport = make_transport(recipe, questions(args, recipe), Masker(), args.host)
        try:
            await transport.connect()
            async with deploy_lock(transport, recipe.name, wait=args.lock_wait, say=_progress):
                done = await rollback(transport, recipe, args.to, say=_progress)
            return done, await rollback_note(recipe, transport, left_behind(done), args.file)
        finally:
            await transport.close()

    try:
        return asyncio.run(go())
    except RollbackError as exc:
        if args.to:
            raise DeployWizardError(str(exc), exit_code=ExitCode.BAD_INPUT) from exc
        raise


__all__ = ["handle"]
