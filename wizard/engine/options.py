"""Each setting declared once (in the step's pydantic model) and rendered to any front end from here.

Why: the TUI form, a plain-terminal prompt and the recipe file must agree on names, defaults, choices and
validation. This module reads the models and gives front ends a small, UI-free description of each field,
turns typed text into values, and validates a form's values with the model's own messages.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from wizard.engine.i18n import _, text_of
from wizard.engine.validators import Prompted, secret_ref, validation_message

M = TypeVar("M", bound=BaseModel)


class FieldKind(StrEnum):
    """How a field is asked and read. Each front end keeps one table keyed by it (a widget, a prompt), so a
    new kind is a new member here plus one entry per table, never another branch in a chain of ifs."""

    BOOL = "bool"
    CHOICE = "choice"
    INT = "int"
    TEXT = "text"  # secrets are references (env:NAME...), so they are plain text too
    LIST = "list"  # comma-separated
    MAP = "map"  # KEY=VALUE pairs, comma-separated


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # the English description: the id front ends translate with text()
    kind: FieldKind
    default: Any
    required: bool
    choices: tuple[str, ...] = ()
    model: type[BaseModel] | None = field(default=None, compare=False, repr=False)  # whose catalog translates
    secret: bool = False  # holds secret references (env:NAME, file:/path, prompt), or a map of them
    prompted: Prompted | None = field(default=None, compare=False)  # how its `prompt` is asked, when the step says

    def text(self) -> str:
        """The label in the current language, from the catalog beside the model (a step's own words)."""
        return text_of(self.model)(self.label) if self.model is not None else _(self.label)

    def syntax(self) -> str:
        """How a list or a map is typed as text, in the current language ("" for other fields): the hint a front end
        shows, because a person who reads a recipe file would otherwise type YAML's or Python's [a, b]."""
        if self.kind is FieldKind.LIST:
            return _("values separated by commas, e.g. a, b")
        if self.kind is FieldKind.MAP and self.secret:  # each value a reference to the secret, never the secret
            return _("NAME=reference pairs separated by commas, e.g. SECRET_KEY=env:APP_SECRET_KEY, "
                     "API_TOKEN=file:/etc/app/token")
        if self.kind is FieldKind.MAP:
            return _("NAME=value pairs separated by commas, e.g. A=1, B=2")
        return ""

    def as_text(self, value: Any) -> str:
        """How a value is shown in a text box (lists comma-separated, maps as KEY=VALUE pairs)."""
        if value is None:
            return ""
        if self.kind is FieldKind.LIST:
            return ", ".join(str(v) for v in value)
        if self.kind is FieldKind.MAP:
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return str(value)

    def parse(self, text: str) -> Any:
        """Typed text -> a value for the model (validation is the model's job, except for yes/no: the model
        would also take words like "t" or "n", and `--set flag=maybe` must be refused, not read as false).

        Raises ValueError, with a message for the operator, for text that is not yes or no.
        """
        text = text.strip()
        if self.kind is FieldKind.LIST:
            return [part.strip() for part in text.split(",") if part.strip()]
        if self.kind is FieldKind.MAP:
            # a comma starts a new pair only when a NAME= follows it: ALLOWED_HOSTS=a.example,b.example stays one
            pairs = [part.strip() for part in _PAIR_START.split(text) if part.strip()]
            found: dict[str, str] = {}
            for key, _sep, value in (pair.partition("=") for pair in pairs):
                if key.strip() in found:  # a dict would keep the last one without a word
                    raise ValueError(_("{name} is given twice").format(name=key.strip()))
                found[key.strip()] = value.strip()
            return found
        if not text:
            return None
        if self.kind is FieldKind.BOOL:
            word = text.lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
            raise ValueError(_("'{value}' is not a yes/no value: use {yes} or {no}").format(
                value=text, yes="/".join(TRUE_WORDS), no="/".join(FALSE_WORDS)))
        if self.kind is FieldKind.INT:
            # ASCII digits only: Python's int() also reads "２２", "٢٢" and "2_2" as 22, look-alikes of a number
            return int(text) if _INTEGER.fullmatch(text) else text  # otherwise the model says what is wrong
        return text


_INTEGER = re.compile(r"-?[0-9]+")
_PAIR_START = re.compile(r",\s*(?=[A-Za-z_][A-Za-z0-9_.\-]*\s*=)")


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


def _kind(annotation: Any) -> FieldKind:
    """The kind of field a (unwrapped) annotation is asked as."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return FieldKind.BOOL
    if origin is Literal:
        return FieldKind.CHOICE
    if annotation is int:
        return FieldKind.INT
    if origin is list:
        return FieldKind.LIST
    if origin is dict:
        return FieldKind.MAP
    return FieldKind.TEXT


def _metadata(annotation: Any, metadata: list[Any]) -> list[Any]:
    """Every Annotated marker of a field, the ones inside its Optional, list or map types included."""
    found, stack = list(metadata), [annotation]
    while stack:
        current = stack.pop()
        args = typing.get_args(current)
        if typing.get_origin(current) is typing.Annotated:
            found += args[1:]
            stack.append(args[0])
        else:
            stack += args
    return found


def _holds_secret_refs(markers: list[Any]) -> bool:
    """Whether a field's value, or the items of its map or list, are secret references (validators.SecretRef):
    front ends find the secrets to ask for (`prompt`) by type, whichever step declares them."""
    return any(getattr(item, "func", None) is secret_ref for item in markers)


def field_specs(model: type[BaseModel]) -> list[FieldSpec]:
    """The fields of a settings model, in declaration order, as front ends ask them (a field holding a model of
    its own is left out: the tool writes it)."""
    specs = []
    for name, info in model.model_fields.items():
        inner, _optional = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            continue  # values the tool resolves and saves (goals.resolved), never typed in a form or a prompt
        kind = _kind(inner)
        choices = tuple(typing.get_args(inner)) if kind is FieldKind.CHOICE else ()
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        markers = _metadata(info.annotation, info.metadata)
        specs.append(FieldSpec(name, info.description or name, kind, default, info.is_required(), choices, model,
                               _holds_secret_refs(markers),
                               next((m for m in markers if isinstance(m, Prompted)), None)))
    return specs


def validate(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model built from the values, or None and a message per field (in the current language)."""
    clean = {k: v for k, v in values.items() if v is not None and v != ""}
    try:
        return model.model_validate(clean), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(field, validation_message(error))
        return None, errors
