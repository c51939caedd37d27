"""A form generated from a settings model (wizard.engine.options): one widget per field, its error beside it.

Not a screen: step screens and the target screen embed it. Values live in a plain dict owned by the draft,
so nothing typed is lost when the operator moves between screens or quits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch
from textual.widgets._select import SelectOverlay

from screens.said import Said
from wizard.engine.options import FieldKind, FieldSpec, field_specs, validate

WidgetFactory = Callable[[FieldSpec, Any, str], Widget]  # (field, current value, widget id) -> its widget


class FormSwitch(Switch):
    """A yes/no field: Space toggles it, Enter moves on (Textual's Switch toggles on Enter too, which flips a
    setting silently for a person who presses Enter to go to the next field)."""

    BINDINGS = [Binding("enter", "enter", show=False)]

    class Enter(Message):
        def __init__(self, switch: FormSwitch) -> None:
            super().__init__()
            self.switch = switch

    def action_enter(self) -> None:
        self.post_message(self.Enter(self))


class FormSelect(Select[str]):
    """A choice field: Enter (Space, ↓) opens its list; there Enter chooses, closes it and moves on to the next
    field, the way Enter leaves a text field; Escape closes it unchanged. Why: Textual's Select gives the focus
    back to itself after a choice, so a person who presses Enter to go on opened the list again, for ever."""

    class Enter(Message):
        def __init__(self, select: FormSelect) -> None:
            super().__init__()
            self.select = select

    @on(SelectOverlay.UpdateSelection)
    def _chosen(self) -> None:
        # Select's own handler (it runs after this one) takes the choice and the focus back; then move on
        self.call_after_refresh(self.post_message, self.Enter(self))


def _switch(spec: FieldSpec, current: Any, widget_id: str) -> Widget:
    return FormSwitch(value=bool(current), id=widget_id)


def _select(spec: FieldSpec, current: Any, widget_id: str) -> Widget:
    return FormSelect([(c, c) for c in spec.choices], value=current or spec.choices[0], allow_blank=False, id=widget_id)


def _input(spec: FieldSpec, current: Any, widget_id: str) -> Widget:
    """Text the field parses (FieldSpec.parse): the same reading as plain prompts and `--set`. An empty list or map
    shows how to type one (comma-separated), where another field shows its default."""
    return Input(value=spec.as_text(current), placeholder=spec.as_text(spec.default) or spec.syntax(), id=widget_id)


# One widget per kind of field: a new FieldKind needs one entry here (a test checks that every kind has one).
WIDGETS: dict[FieldKind, WidgetFactory] = {
    FieldKind.BOOL: _switch,
    FieldKind.CHOICE: _select,
    FieldKind.INT: _input,
    FieldKind.TEXT: _input,
    FieldKind.LIST: _input,
    FieldKind.MAP: _input,
}


def field_name(spec: FieldSpec) -> str:
    """A field named short, for a message about it: its label up to the first clause that explains it."""
    return re.split(r"[;；。]|\. |, e\.g\.|，例如|（|\(", spec.text(), maxsplit=1)[0].strip().rstrip(".")


class SettingsForm(Vertical):
    """Edits `values` (a dict) for `model`; posts Changed after every edit with the field errors."""

    DEFAULT_CSS = "SettingsForm { height: auto; }"

    class Changed(Message):
        def __init__(self, form: SettingsForm, field: str | None = None) -> None:
            super().__init__()
            self.form = form
            self.field = field  # the field the operator edited

    def __init__(self, model: type[BaseModel], values: dict[str, Any], *, prefix: str,
                 skip: tuple[str, ...] = (), active: bool = True) -> None:
        super().__init__(id=f"form-{prefix}")
        self.model = model
        self.values = values
        self.prefix = prefix
        self.specs = [spec for spec in field_specs(model) if spec.name not in skip]
        self.errors: dict[str, str] = {}
        self.unreadable: dict[str, str] = {}  # text a field cannot read at all (a name given twice in a map)
        # When a message shows (why: "required" under every field of a form just opened, or of a step switched
        # off, tells a person they did something wrong before they did anything): a field's once it was left or
        # holds a value, every field's once Next was pressed, none while the form's step is switched off.
        self.active = active
        self.left: set[str] = set()
        self.revealed = False
        self.opened = self.answers()  # as the form opened: a choice list storing its default is no answer

    def answers(self) -> dict[str, Any]:
        """Every field's value, its default where none was typed."""
        return {spec.name: self.values.get(spec.name, spec.default) for spec in self.specs}

    @property
    def edited(self) -> bool:
        """The operator changed an answer since the form opened."""
        return self.answers() != self.opened

    def compose(self) -> ComposeResult:
        for spec in self.specs:
            current = self.values.get(spec.name, spec.default)
            yield Said(lambda spec=spec: spec.text() + (" *" if spec.required else ""), classes="field-label")
            widget_id = f"{self.prefix}-{spec.name}"
            yield WIDGETS[spec.kind](spec, current, widget_id)
            yield Static("", id=f"{widget_id}-error", classes="field-error")

    def on_mount(self) -> None:
        self.check(show=False)

    def relabel(self) -> None:
        """F2: the messages and the hints in the language now chosen (the labels are Said); the values stay."""
        for spec in self.specs:
            if spec.kind in (FieldKind.LIST, FieldKind.MAP, FieldKind.TEXT, FieldKind.INT):
                field = self.query_one(f"#{self.prefix}-{spec.name}", Input)
                field.placeholder = spec.as_text(spec.default) or spec.syntax()
        self.check(show=False)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """A field left: its message (a required one too) shows from now on."""
        spec = self._spec(event.widget.id)
        if spec is not None and spec.name not in self.left:
            self.left.add(spec.name)
            self.check(show=False)

    def set_active(self, active: bool) -> None:
        """The form's step switched on or off: a step left out shows no message at all."""
        self.active = active
        self.check(show=False)

    def _spec(self, widget_id: str | None) -> FieldSpec | None:
        name = (widget_id or "").removeprefix(f"{self.prefix}-")
        return next((s for s in self.specs if s.name == name), None)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._store(event.input.id, lambda spec: spec.parse(event.value))
        event.stop()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._store(event.switch.id, lambda spec: event.value)
        event.stop()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._store(event.select.id, lambda spec: event.value)
        event.stop()

    def _store(self, widget_id: str | None, value_of: Callable[[FieldSpec], Any]) -> None:
        spec = self._spec(widget_id)
        if spec is None:
            return
        try:
            value = value_of(spec)
        except ValueError as exc:
            self.unreadable[spec.name] = str(exc)
            self.check(show=False)
            return
        self.unreadable.pop(spec.name, None)
        if value is None or value == "" or value == []:
            self.values.pop(spec.name, None)
        else:
            self.values[spec.name] = value
        self.check(show=False)
        self.post_message(self.Changed(self, spec.name))

    def check(self, show: bool = True) -> bool:
        """Validate with the model; show the messages that are due (`show`: Next was pressed, all of them) next to
        their fields. True when valid."""
        _model, self.errors = validate(self.model, self.values)
        self.errors.update(self.unreadable)
        self.revealed = self.revealed or show
        for spec in self.specs:
            widget_id = f"{self.prefix}-{spec.name}"
            due = self.revealed or spec.name in self.values or spec.name in self.left
            message = self.errors.get(spec.name, "") if self.active and due else ""
            error = self.query_one(f"#{widget_id}-error", Static)
            error.update(message)
            error.display = bool(message)  # no empty line under every valid field
            self.query_one(f"#{widget_id}").set_class(bool(message), "-invalid")
        return not self.errors

    def first_invalid(self) -> tuple[FieldSpec, Widget] | None:
        """The first field with a message, and its widget (where the cursor goes to fix it)."""
        for spec in self.specs:
            if spec.name in self.errors:
                return spec, self.query_one(f"#{self.prefix}-{spec.name}")
        return None

    def model_value(self) -> BaseModel | None:
        model, _errors = validate(self.model, self.values)
        return None if self.unreadable else model
