"""Plan previews without a server: what a step would do on a fresh Debian 13 host, for the values typed so far.

Why: the wizard shows the exact commands and files beside the form while the operator types, before any
server is reached. Every fact knows its value on a fresh server (`Fact.fresh()`), so the same plan code
that runs against real hosts produces the preview: no second, drifting description of what a step does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wizard.engine.commands import Secret
from wizard.engine.facts import Fact, FactValues, PackagesInstalled
from wizard.engine.step import Change, Context, Ok, PlanError, Step, StepSettings, Warn


class FreshFacts(FactValues):
    """Facts of a server where nothing has been done yet."""

    def __getitem__(self, fact: Fact | str) -> Any:
        if isinstance(fact, Fact):
            return fact.fresh()
        raise KeyError(fact)

    def __contains__(self, fact: object) -> bool:
        return isinstance(fact, Fact)


class InstalledFacts(FreshFacts):
    """The same server once the step's packages are installed: what a step plans in its second pass."""

    def __getitem__(self, fact: Fact | str) -> Any:
        if isinstance(fact, PackagesInstalled):
            return {name: "installed" for name in fact.names}
        return super().__getitem__(fact)


def placeholder_secret(ref: str, label: str) -> Secret:
    return Secret(label, "preview-placeholder")


def preview(step: Step, settings: StepSettings, ctx: Context) -> tuple[list[Change], list[str], str | None]:
    """(changes, passed checks, error) on a fresh server: the first pass, then what a step plans once its
    packages are installed (database roles, nginx sites...), without repeating a change."""
    ctx = replace(ctx, others={**ctx.others, step.name: settings}, steps={**ctx.steps, step.name: step},
                  secrets=placeholder_secret)
    changes: list[Change] = []
    notes: list[str] = []
    try:
        for facts in (FreshFacts(), InstalledFacts()):
            seen = {change.describe() for change in changes}
            for item in step.plan(settings, facts, ctx):
                if isinstance(item, Ok | Warn):
                    if facts.__class__ is FreshFacts:
                        notes.append(item.reason if isinstance(item, Ok) else item.text)
                elif item.describe() not in seen:
                    changes.append(item)
    except PlanError as exc:
        return changes, notes, str(exc)
    return changes, notes, None
