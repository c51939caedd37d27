"""Ctrl+Q during a run: ask first, and say what quitting does not stop (a command already started on the
server goes on without the wizard)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _


def in_flight_text(step: str | None, what: str | None) -> str:
    """What the run is doing on the server right now, for the dialog and for the terminal after quitting."""
    if step is None:
        return _("The run has not started a step on the server yet.")
    if what is None:
        return _("The run is at step {step}; nothing is changing on the server right now (it reads facts or "
                 "waits for you).").format(step=step)
    return _("A step is running on the server: {step}. Quitting stops the wizard, not commands already started "
             "there: {what}").format(step=step, what=what)


class QuitModal(ModalScreen[bool]):
    BINDINGS = [("escape", "stay", "Keep running")]

    def __init__(self, step: str | None, what: str | None) -> None:
        super().__init__()
        self.step, self.what = step, what

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("Quit during the run?"), classes="title")
            yield Static(in_flight_text(self.step, self.what), markup=False)
            yield Static(_("Your answers and the recipe stay saved; the run's journal says which steps completed."),
                         markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Quit"), id="quit", variant="error")
                yield Button(_("Keep running"), id="stay", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#quit")
    def quit_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)
