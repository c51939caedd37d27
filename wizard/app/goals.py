"""Defaults that come from the operator's intent (the goals step), filled in before any step plans.

Why here and before the runner: a default such as the gunicorn workers depends on the server's size, a fact,
while the step that uses it (app_server) plans from its settings alone. So the intent step reads its facts
first, resolves, and its values fill every setting the operator left at its default; a setting given another
value in the recipe (or with --set) is the operator's override and is never replaced. Steps stay unaware of each
other: the intent step names the settings it fills as data.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from wizard.app.recipefile import Recipe, RecipeError, load, parse, save
from wizard.engine import safe_yaml
from wizard.engine.facts import FactGatherer, FactValues
from wizard.engine.fsutil import atomic_write_text, read_text_file
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


class Saved(StrEnum):
    """How the values an intent step resolved reached the recipe file."""

    NOTHING = "nothing"  # nothing new to write: no goals, or goals.resolved was already in the file
    INSERTED = "inserted"  # written into the file as it is: its comments and layout stay
    REWRITTEN = "rewritten"  # the file was saved whole (a layout this cannot insert into): comments are gone


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _last_line(node: yaml.Node) -> int | None:
    """The 0-based line a block value ends on (None for a block scalar, whose end this does not place)."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _last_line(last[1] if isinstance(node, yaml.MappingNode) else last)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return None
    return node.end_mark.line


def _inserted(text: str, name: str, values: dict[str, Any]) -> str | None:
    """`text` with `resolved:` added to the mapping of step `name`, the rest of the file as it was; None when
    that mapping is not one this can add to (absent, empty in block style, an alias)."""
    node = _child(_child(safe_yaml.compose(text), "steps"), name)
    if not isinstance(node, yaml.MappingNode):
        return None
    if node.flow_style:  # goals: {audience: public}: before its closing brace, in flow style (JSON is YAML)
        end = node.end_mark.index - 1
        if text[end] != "}":
            return None
        flow = json.dumps(values, separators=(", ", ": "))
        return text[:end] + (", " if node.value else "") + f"resolved: {flow}" + text[end:]
    if not node.value:
        return None
    last = _last_line(node.value[-1][1])
    if last is None:
        return None
    indent = " " * node.value[0][0].start_mark.column
    block = indent + "resolved:\n" + "".join(f"{indent}  {line}\n" for line in safe_yaml.dump(values).splitlines())
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines[:last + 1]) + block + "".join(lines[last + 1:])


def save_resolved(path: Path, resolved: Recipe) -> Saved:
    """After the first apply of a recipe with goals (the CLI's or the wizard's), write the values they resolved
    to beside the answers in the file (only those: not a --set override, not the defaults they filled in), so a
    replay elsewhere can keep them. Later applies leave the file alone: goals.on_other_size says what a replay
    does. The values are inserted into the file as it is, so its comments stay; where its layout does not allow
    that (or the result would not read back as the same recipe with the values), the file is saved whole."""
    recipe = load(path)
    for step, settings in resolved.selected():
        if not isinstance(step, Intent) or getattr(settings, "resolved", None) is None:
            continue
        own = getattr(recipe.steps, step.name, None)
        if own is None or getattr(own, "resolved", True) is not None:
            continue
        setattr(recipe.steps, step.name, own.model_copy(update={"resolved": settings.resolved}))
        text = read_text_file(path)
        new = _inserted(text, step.name, settings.resolved.model_dump(mode="json"))
        try:
            if new is not None and parse(new, path) == recipe:
                atomic_write_text(path, new, mode=0o644, keep_mode=True)
                return Saved.INSERTED
        except RecipeError:
            pass
        save(recipe, path)
        return Saved.REWRITTEN
    return Saved.NOTHING
