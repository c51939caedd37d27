"""`deploy-wizard run FILE -- CMD [ARGS...]`: one command on the server the way the app runs.

Why a command of its own and not `ssh` + `sudo -u`: createsuperuser, a Django shell or `flask db upgrade` only
work with the app's env files loaded, in its live release, with its venv, as its user; getting one of these
wrong by hand gives confusing errors (a missing DATABASE_URL, files owned by root in the release). The exit
code is the command's own (0..255), so scripts can branch on it; connection and input errors keep theirs.
"""

from __future__ import annotations

import argparse
import asyncio

from wizard.cli.common import load_recipe, questions
from wizard.engine.errors import UsageError
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    """Build the command from the recipe (no code step: exit 2 before connecting), connect, run, relay."""
    from wizard.app.oneoff import one_off_command
    from wizard.app.session import make_transport
    from wizard.engine.commands import Masker
    from wizard.engine.console import Console

    argv = getattr(args, "remote_command", None)
    if not argv:
        raise UsageError(_("run: give the command after `--`, e.g. deploy-wizard run recipe.yaml -- python "
                           "manage.py createsuperuser"))
    recipe = load_recipe(args)
    command = one_off_command(recipe, argv)

    async def go() -> int:
        transport = make_transport(recipe, questions(args, recipe), Masker(), args.host)
        try:
            await transport.connect()
            return await transport.interact(command, Console.of_process())
        finally:
            await transport.close()

    return asyncio.run(go())


__all__ = ["handle"]
