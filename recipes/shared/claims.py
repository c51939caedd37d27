"""Server-wide settings when several apps share one server: each app's claim, merged, and real conflicts named.

Why: os_updates, nginx and monitoring write files that belong to the whole server (the host name, which site
answers a name, what Prometheus scrapes). Rendered from one recipe alone, two recipes on one server would undo
each other on every apply, and the last one would silently win. So each app leaves a claim of what it needs
from such a file in /etc/deploy-wizard/claims/<step>/<app>.json (root's, like the files they describe), and
the step renders from every app's claim: a union where wants can be combined (scrape targets), the largest
where one value must serve all (the journal's size cap), and a named conflict where they cannot (two apps
claiming one server name, or different host names).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PlanError, file_change

_ = translator(__file__)

CLAIMS = "/etc/deploy-wizard/claims"
Claim = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Claims(Fact):
    """Every app's claim for one step: {app: claim}."""

    step: str

    kind = "claims"

    def command(self) -> Command:
        return sh('for f in "$1"/*.json; do [ -f "$f" ] || continue; printf "%s\\t" "$(basename "$f" .json)"; '
                  'tr -d "\\n" < "$f"; echo; done', f"{CLAIMS}/{self.step}")

    def fresh(self) -> dict[str, Claim]:
        return {}

    def parse(self, out: str, status: int) -> dict[str, Claim]:
        found: dict[str, Claim] = {}
        for line in out.splitlines():
            app, _sep, text = line.partition("\t")
            try:
                value = json.loads(text)
            except ValueError:
                continue  # a hand-broken claim is ignored rather than trusted
            if isinstance(value, dict):
                found[app] = value
        return found


def claim_path(step: str, app: str) -> str:
    return f"{CLAIMS}/{step}/{app}.json"


def others(facts: FactValues, step: str, ctx: Context) -> dict[str, Claim]:
    """The other apps' claims (this app's own comes from its recipe, never from the server)."""
    return {app: claim for app, claim in facts[Claims(step)].items() if app != ctx.app}


def record(step: str, ctx: Context, claim: Claim, facts: FactValues) -> Iterator[Change | Ok]:
    """Write this app's claim, so the next app's plan takes it into account."""
    path = claim_path(step, ctx.app)
    yield from file_change(_("record what {app} needs from the server-wide {step} settings").format(
        app=ctx.app, step=step), path, json.dumps(claim, sort_keys=True) + "\n", facts[FileInfo(path)])


def claim_facts(step: str, ctx: Context) -> list[Fact]:
    return [Claims(step), FileInfo(claim_path(step, ctx.app))]


def same_or_conflict(name: str, mine: object, theirs: Mapping[str, Claim], setting: str) -> None:
    """One value for the whole server: another app wanting a different one is a conflict, named."""
    for app, claim in sorted(theirs.items()):
        if claim.get(name) is not None and mine is not None and claim[name] != mine:
            raise PlanError(_("conflict with the app {app} on this server: it sets {setting} to {theirs}, this "
                              "recipe to {mine}. One server has one {setting}: make the two recipes agree, or "
                              "leave it out of one of them.").format(app=app, setting=setting, theirs=claim[name],
                                                                    mine=mine))
