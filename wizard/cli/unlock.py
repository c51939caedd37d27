"""`deploy-wizard unlock FILE [--host H]`: break the app's deploy lock on the server, after saying who holds it.

Why a command of its own and a question: breaking a lock whose run is still alive lets two deploys change the
same server at once, so the operator sees the holder (operator, machine, pid, since, last heard from) and says
yes (or passes --yes). A lock whose run is gone frees itself anyway (wizard/app/deploylock.py).
"""

from __future__ import annotations

import argparse
import asyncio

from wizard.cli.common import load_recipe, questions
from wizard.cli.confirm import confirm
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    from wizard.app.deploylock import break_lock, peek
    from wizard.app.session import make_transport
    from wizard.engine.commands import Masker

    recipe = load_recipe(args)
    host = args.host or recipe.target.host

    async def go() -> int:
        transport = make_transport(recipe, questions(args, recipe), Masker(), args.host)
        try:
            await transport.connect()
            holder = await peek(transport, recipe.name)
            if holder is None:
                print(_("Nobody holds the deploy lock of {app} on {host}.").format(app=recipe.name, host=host))
                return ExitCode.OK
            print(_("The deploy lock of {app} on {host} is held by {who}.").format(
                app=recipe.name, host=host, who=holder.describe()))
            question = _("Break it? Only if that run is gone: two runs at once can leave the server half-changed. "
                         "[y/N] ")
            if not await asyncio.to_thread(confirm, question, yes=args.yes,
                                           refusal=_("unlock needs --yes when there is no terminal to confirm on.")):
                print(_("Nothing was changed."))
                return ExitCode.OK
            await break_lock(transport, recipe.name)
            print(_("The lock is broken; the next apply can take it."))
            return ExitCode.OK
        finally:
            await transport.close()

    return asyncio.run(go())


__all__ = ["handle"]
