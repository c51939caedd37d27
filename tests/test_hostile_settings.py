"""Every free-text setting of every step refuses hostile strings before they can reach a shell or a file."""

from __future__ import annotations

import shlex

import pytest
from pydantic import ValidationError

from tests.conftest import HOSTILE
from wizard.app import registry
from wizard.app.recipefile import Target


def text_fields(model: type) -> list[tuple[str, bool]]:
    """(field name, is a list) for every field that holds strings, from the model's own JSON Schema."""
    found = []
    for name, prop in model.model_json_schema()["properties"].items():
        options = prop.get("anyOf", [prop])
        if any(o.get("type") == "string" and "enum" not in o and "const" not in o for o in options):
            found.append((name, False))
        elif any(o.get("type") == "array" and o.get("items", {}).get("type") == "string" for o in options):
            found.append((name, True))
    return found


# Maps whose values are commands (NAME=command): tried as the value of one entry, under a valid name.
MAP_COMMAND_FIELDS = {("workers", "processes"): "worker"}
CASES = [(step.name, field, is_list, value) for step in registry.steps()
         for field, is_list in text_fields(step.Settings)
         for value in HOSTILE] + [(step, field, False, value) for step, field in MAP_COMMAND_FIELDS
                                  for value in HOSTILE]


# steps whose settings hold no free text at all (choices, numbers, and values the step resolves itself)
NO_TEXT = {"goals"}
# steps whose free text is only in maps (NAME=value): their own tests feed the maps hostile values
MAPS_ONLY = {"jobs": "tests/test_timers.py"}


def test_every_step_has_text_fields_under_test() -> None:
    assert {c[0] for c in CASES} | NO_TEXT | set(MAPS_ONLY) == {s.name for s in registry.steps()}


# Command lines the operator writes (migrations, collectstatic, a build) are legitimately several words. They may
# be accepted, but only when nothing in them is shell syntax: each word then runs as one quoted argument (a
# build's `&&` joins commands, and is never handed to a shell either: recipes.shared.common.chained).
COMMAND_FIELDS = {("database", "migrate_command"), ("static", "collect_command"), ("code", "build")}
SHELL_SYNTAX = set(";&|`$<>\n\r\0")


@pytest.mark.parametrize(("step", "field", "is_list", "value"), CASES)
def test_hostile_value_is_refused(step: str, field: str, is_list: bool, value: str) -> None:
    settings = next(s for s in registry.steps() if s.name == step).Settings
    data = {field: [value] if is_list else value}
    if (step, field) in MAP_COMMAND_FIELDS:
        data = {field: {MAP_COMMAND_FIELDS[step, field]: value}}
    try:
        settings.model_validate(data)
        refused = False
    except ValidationError as exc:  # only this field's errors count: another required field may be missing
        refused = any(e["loc"][:1] == (field,) for e in exc.errors())
    if (step, field) in COMMAND_FIELDS or (step, field) in MAP_COMMAND_FIELDS:
        assert refused or (not SHELL_SYNTAX & set(value.replace("&&", "")) and shlex.split(value)), value
        return
    assert refused, value


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["host", "user"])
def test_hostile_target_values_are_refused(field: str, value: str) -> None:
    data = {"host": "example.com", field: value}
    with pytest.raises(ValidationError):
        Target.model_validate(data)
