"""Each setting declared once (in the step's pydantic model) and rendered to any front end from here.

Why: the TUI form, a plain-terminal prompt and the recipe file must agree on names, defaults, choices and
validation. This module reads the models and gives front ends a small, UI-free description of each field,
turns typed text into values, and validates a form's values with the model's own messages.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from wizard.engine.i18n import _, text_of


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # the English description: the id front ends translate with text()
    kind: str  # bool | choice | int | text | list | map
    default: Any
    required: bool
    choices: tuple[str, ...] = ()
    model: type[BaseModel] | None = field(default=None, compare=False, repr=False)  # whose catalog translates

    def text(self) -> str:
        """The label in the current language, from the catalog beside the model (a step's own words)."""
        return text_of(self.model)(self.label) if self.model is not None else _(self.label)

    def as_text(self, value: Any) -> str:
        """How a value is shown in a text box (lists comma-separated, maps as KEY=VALUE pairs)."""
        if value is None:
            return ""
        if self.kind == "list":
            return ", ".join(str(v) for v in value)
        if self.kind == "map":
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return str(value)

    def parse(self, text: str) -> Any:
        """Typed text -> a value for the model (validation is the model's job)."""
        text = text.strip()
        if self.kind == "list":
            return [part.strip() for part in text.split(",") if part.strip()]
        if self.kind == "map":
            pairs = [part.strip() for part in text.split(",") if part.strip()]
            return dict(pair.split("=", 1) if "=" in pair else (pair, "") for pair in pairs)
        if not text:
            return None
        if self.kind == "int":
            try:
                return int(text)
            except ValueError:
                return text  # the model says what is wrong
        return text


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, optional?) without Annotated and None."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0]
        else:
            return annotation, optional


def field_specs(model: type[BaseModel]) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        inner, _optional = _unwrap(info.annotation)
        origin = typing.get_origin(inner)
        choices: tuple[str, ...] = ()
        if inner is bool:
            kind = "bool"
        elif origin is Literal:
            kind, choices = "choice", tuple(typing.get_args(inner))
        elif inner is int:
            kind = "int"
        elif origin is list:
            kind = "list"
        elif origin is dict:
            kind = "map"
        else:
            kind = "text"  # secrets are references (env:NAME...), so they are plain text here too
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        specs.append(FieldSpec(name, info.description or name, kind, default, info.is_required(), choices, model))
    return specs


def validate(model: type[BaseModel], values: dict[str, Any]) -> tuple[BaseModel | None, dict[str, str]]:
    """The model built from the values, or None and a message per field (in the current language)."""
    clean = {k: v for k, v in values.items() if v is not None and v != ""}
    try:
        return model.model_validate(clean), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = _("required setting is missing")
            errors.setdefault(field, message)
        return None, errors
