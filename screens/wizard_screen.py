"""The base of the wizard's full screens: typed access to the WizardApp that shows them, and the keyboard
behaviour every form shares.

Why a typed property: Textual types `Screen.app` as any App, but these screens need the wizard's own (its
draft, its navigation). One property that checks the type gives them that, instead of an ignored type error
at every use, and says plainly what went wrong if a screen is ever shown by another app.

Why Enter advances here: a person filling a form presses Enter when a field is done. Enter moves to the next
field, and on the last field of the form presses Next, the way Tab and the button would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from textual import events, on
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input

from screens.app import WizardApp
from screens.help import Keys, general_keys
from wizard.engine.i18n import _, clauses

if TYPE_CHECKING:  # the handlers below go by their names: the Welcome screen is drawn before the forms load
    from screens.form import FormSelect, FormSwitch

BANNER_CELLS = 140  # what fits in two lines of the fixing banner at 80 columns


class WizardScreen(Screen[None]):
    AUTO_FOCUS = ""  # first_field() instead: Textual's would pick the form's scroll container
    flow_position: tuple[int, int] | None = None  # (n, N) on the screens of the flow: the title bar shows it

    @property
    def wizard_app(self) -> WizardApp:
        app = self.app
        assert isinstance(app, WizardApp), f"{type(self).__name__} is shown by WizardApp, not {type(app).__name__}"
        return app

    @on(events.Mount)
    def _focus_on_entry(self) -> None:
        self.call_after_refresh(self._focus_first_field)

    def _focus_first_field(self) -> None:
        field = self.first_field()
        if self.focused is None and field is not None:
            field.focus(scroll_visible=False)  # the form stays at its top, labels above the field in view

    def help_keys(self) -> Keys:
        """The keys that work on this screen beyond its footer's, for the help (F1 / ?)."""
        return general_keys()

    def first_field(self) -> Widget | None:
        """Where typing starts on entry: the form's first field (a screen without one: its first button)."""
        found = [widget for widget in self.query(".form Input, .form Switch, .form Select, .form Button")
                 if widget.focusable]
        return found[0] if found else None

    def fields(self) -> list[Widget]:
        """The form's fields in order (what Enter walks through)."""
        return [widget for widget in self.query(".form Input, .form Switch, .form Select")
                if widget.focusable]

    def advance(self, widget: Widget) -> None:
        """Enter in `widget`: the next field; on the last one, Next (where the screen has it)."""
        fields = self.fields()
        nexts = self.query("Button#next")
        if fields and widget is fields[-1] and nexts:
            nexts.first(Button).press()
        elif widget in fields and widget is not fields[-1]:
            fields[fields.index(widget) + 1].focus()
        else:
            self.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.advance(event.input)

    def on_form_switch_enter(self, event: FormSwitch.Enter) -> None:
        event.stop()
        self.advance(event.switch)

    def on_form_select_enter(self, event: FormSelect.Enter) -> None:
        event.stop()
        self.advance(event.select)


def fixing_text(step: str | None, error: str) -> str:
    """The banner over the form being fixed after a failed run: where it stopped, the first line of why, and
    where Next goes now. `step` is the step's label; None when the run stopped before any step."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    parts = list(dict.fromkeys(lines[:1] + lines[-1:]))  # what failed, and its last word on why
    if len(parts) == 2 and parts[0].endswith((":", "：")):  # "'nginx -t' failed ...:" introduces its output
        why = parts[0] + ("" if parts[0].endswith("：") else " ") + parts[1]
    else:
        why = clauses(parts)
    if not why:  # a step skipped after its failure: the summary has no error for it
        head = _("The last run did not complete {step}.").format(step=step or "-")
    elif step:
        head = _("The run stopped at {step}: {why}").format(step=step, why=why)
    else:
        head = _("The run stopped before its first step: {why}").format(why=why)
    if cell_len(head) > BANNER_CELLS:  # two lines at 80 columns; the "If it fails" tab has all of it
        head = set_cell_size(head, BANNER_CELLS - 1) + "…"
    return head + "\n" + _("Fix it here; Next goes back to the Review, which runs the recipe again.")
