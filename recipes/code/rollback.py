"""Rollback: make an earlier release the live one again; the releases are already on disk.

Why it is this small: every deploy is an immutable directory under releases/, so going back is the app
server's own way to a release (its gate, then the switch on the shared socket and the watch: go_live).
What it cannot undo is the database: migrations that ran for the newer release stay applied, and the
operator is told so every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from recipes.shared.common import current_release, switch_link
from recipes.shared.facts import DirEntries, Readlink
from recipes.shared.web import app_server
from wizard.engine.facts import FactGatherer
from wizard.engine.hooks import Rollback, RollbackError
from wizard.engine.i18n import translator
from wizard.engine.runner import NOTICE_PREFIX
from wizard.engine.step import Context, RunCommand
from wizard.engine.transports.base import Transport

_ = translator(__file__)


async def rollback(transport: Transport, ctx: Context, to: str | None = None,
                   say: Callable[[str], None] | None = None) -> Rollback:
    """Switch to `to`, or to the release deployed before the current one. `say` hears, as it happens, what the
    rollback waits for (the health gate, the switch, the watch) and what the switch reports on the way: the
    whole takes as long as a deploy's gate and watch, and a silent half minute looks like a hang."""
    facts = await FactGatherer(transport).gather([DirEntries(ctx.releases), Readlink(ctx.current)])
    releases = [r for r in facts[DirEntries(ctx.releases)] if not r.endswith(".tmp")]
    live = current_release(facts, ctx)
    if not releases or live is None:
        raise RollbackError(_("nothing is deployed on {host} yet").format(host=transport.label))
    if to is None:
        index = releases.index(live) if live in releases else len(releases)
        if index == 0:
            raise RollbackError(_("{live} is the oldest release kept; there is nothing earlier to go back to").format(
                live=live))
        to = releases[index - 1]
    elif to not in releases:
        raise RollbackError(_("no release {to} on the server; there are: {all}").format(to=to, all=", ".join(releases)))
    if to == live:
        return Rollback(live, to, releases)
    server = app_server(ctx)
    changes = (server[0].go_live(server[1], ctx, to, live) if server else
               [RunCommand(_("switch current to release {id} (was {old})").format(id=to, old=live),
                           switch_link(ctx.current, to))])
    tell = say or (lambda text: None)
    for change in changes:
        tell(change.why)
        t0 = time.monotonic()
        result = await transport.run(change.command, timeout=change.timeout or 900, on_output=_relay(tell))
        if not result.ok:
            raise RollbackError(_("'{what}' failed: {why}").format(what=change.command.summary(),
                                                                  why=(result.stderr or result.stdout).strip()))
        tell(_("done ({seconds:.1f} s)").format(seconds=time.monotonic() - t0))
    return Rollback(live, to, releases)


def _relay(tell: Callable[[str], None]) -> Callable[[str, str], None]:
    """The lines the switch script says for the operator (starting, watching, healthy), without their prefix."""
    def on_output(stream: str, text: str) -> None:
        if text.startswith(NOTICE_PREFIX):
            tell(text[len(NOTICE_PREFIX):])
    return on_output
