"""Defaults that come from the operator's intent (the goals step), filled in before any step plans.

Why here and before the runner: a default such as the gunicorn workers depends on the server's size, a fact,
while the step that uses it (app_server) plans from its settings alone. So the intent step reads its facts
first, resolves, and its values fill every setting the operator left at its default; a setting given another
value in the recipe (or with --set) is the operator's override and is never replaced. Steps stay unaware of each
other: the intent step names the settings it fills as data.
"""

from __future__ import annotations

from typing import Any

from wizard.app.recipefile import Recipe
from wizard.engine.facts import FactGatherer, FactValues
from wizard.engine.intent import Intent, overridden
from wizard.engine.step import Context, StepSettings
from wizard.engine.transports.base import Transport


def overlay(recipe: Recipe, step: str, own: StepSettings, defaults: dict[str, dict[str, Any]]) -> Recipe:
    """The recipe with the intent step's resolved settings and the defaults in every field left unset."""
    data = recipe.model_dump(mode="json", exclude_unset=True)
    steps = data.setdefault("steps", {})
    steps[step] = own.model_dump(mode="json", exclude_unset=True)
    for name, values in defaults.items():
        settings = getattr(recipe.steps, name, None)
        if settings is None:
            continue
        for field, value in values.items():
            if field in type(settings).model_fields and not overridden(settings, field):
                steps[name][field] = value
    return Recipe.model_validate(data)


async def resolve_intent(recipe: Recipe, transport: Transport, ctx: Context) -> Recipe:
    """The recipe with every intent step resolved on this server (facts read through `transport`)."""
    for step, settings in recipe.selected():
        if not isinstance(step, Intent):
            continue
        gatherer = FactGatherer(transport)
        facts: FactValues = await gatherer.gather(step.facts(settings, FactValues(), ctx))
        own, defaults = step.resolve(settings, facts, ctx)
        recipe = overlay(recipe, step.name, own, defaults)
    return recipe
