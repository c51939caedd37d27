"""`deploy-wizard maintenance FILE on|off|status [--message TEXT] [--host H]`: nginx shows a maintenance page
(503) for every page of the app while it is down for work; see wizard/app/maintenance.py."""

from __future__ import annotations

import argparse
import asyncio

from wizard.cli.common import load_recipe, questions
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    from wizard.app.maintenance import DEFAULT_MESSAGE, State, needs_nginx, page, switch
    from wizard.app.session import make_transport
    from wizard.engine.commands import Masker

    recipe = load_recipe(args)
    needs_nginx(recipe)
    message = args.message or DEFAULT_MESSAGE
    page(message)  # bad text is refused before connecting
    host = args.host or recipe.target.host

    async def go() -> State:
        transport = make_transport(recipe, questions(args, recipe), Masker(), args.host)
        try:
            await transport.connect()
            return await switch(transport, recipe, args.action, message)
        finally:
            await transport.close()

    state = asyncio.run(go())
    if state.on:
        print(_("Maintenance mode of {app} on {host} is on (since {since}): every page answers 503 with the "
                "maintenance page; static files are still served. `deploy-wizard maintenance {file} off` ends "
                "it.").format(app=recipe.name, host=host, since=state.since, file=args.file))
    else:
        print(_("Maintenance mode of {app} on {host} is off: the app answers again.").format(app=recipe.name,
                                                                                            host=host))
    return ExitCode.OK


__all__ = ["handle"]
