"""Maintenance mode: nginx answers every page of the app with a 503 and a page of the operator's words, while
the app is down for work (a long migration, a restore, moving the database).

Why a switch file instead of a different nginx site: turning it on or off is then one atomic file operation and
no nginx reload, the site the nginx step manages never changes (so `check` sees no drift), and the health-check
timer skips itself while the switch exists (`ConditionPathExists=!`), so maintenance is not reported as an
outage. `plan` and `check` say that maintenance mode is on, and since when.

As root in /var/lib/deploy-wizard/maintenance/APP (Context.maintenance_dir): root's, outside /srv/APP, so the
app user can neither plant the page nor lift the switch.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from wizard.app.recipefile import Recipe
from wizard.engine.commands import sh
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _
from wizard.engine.transports.base import Transport

DEFAULT_MESSAGE = "This site is being updated and will be back shortly."
_PRINTABLE = re.compile(r"^[^\x00-\x08\x0b-\x1f\x7f]{1,2000}$")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Maintenance</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; padding: 0 1em">
<h1>Down for maintenance</h1>
<p>{message}</p>
</body></html>
"""

# $1 the directory, $2 the page: the page first, then the switch (kept with its time when already on)
TURN_ON = r'''
d="$1"; install -d -m 0755 -o root -g root "$d" || exit 1
printf '%s' "$2" > "$d/index.html.new" && chmod 0644 "$d/index.html.new" &&
  mv -f "$d/index.html.new" "$d/index.html" || exit 1
[ -e "$d/on" ] && { echo "already on since $(cat "$d/on")"; exit 0; }
date -u +%Y-%m-%dT%H:%M:%SZ > "$d/on.new" && mv -f "$d/on.new" "$d/on" && echo "on since $(cat "$d/on")"
'''
TURN_OFF = r'''[ -e "$1/on" ] || { echo "already off"; exit 0; }; rm -f "$1/on" && echo off'''
STATUS = r'''if [ -e "$1/on" ]; then echo "on since $(cat "$1/on")"; else echo off; fi'''


@dataclass(frozen=True)
class State:
    on: bool
    since: str | None
    changed: bool


def page(message: str) -> str:
    if not _PRINTABLE.match(message):
        raise DeployWizardError(_("--message: 1 to 2000 printable characters (line breaks allowed)"),
                                exit_code=ExitCode.BAD_INPUT)
    return PAGE.format(message=html.escape(message).replace("\n", "<br>\n"))


def needs_nginx(recipe: Recipe) -> None:
    if "nginx" not in {step.name for step, _settings in recipe.selected()}:
        raise DeployWizardError(_("maintenance mode is a page nginx serves, and this recipe has no nginx step"),
                                exit_code=ExitCode.BAD_INPUT)


Action = Literal["on", "off", "status"]


async def switch(transport: Transport, recipe: Recipe, action: Action, message: str = DEFAULT_MESSAGE) -> State:
    """Turn maintenance mode on or off, or (`status`) only read it."""
    where = recipe.context().maintenance_dir
    if action == "on":
        command = sh(TURN_ON, where, page(message))
    else:
        command = sh(TURN_OFF if action == "off" else STATUS, where)
    result = await transport.run(command)
    out = result.stdout.strip()
    if not result.ok:
        raise DeployWizardError(_("could not turn maintenance mode {action} on {host}: {why}").format(
            action=action, host=transport.label, why=(result.stderr or out).strip()))
    on = "on since" in out
    return State(on, out.rsplit(" ", 1)[-1] if on else None, not out.startswith("already") and action != "status")
