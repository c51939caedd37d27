"""Ctrl+Q during a run: ask first, and say what quitting does not stop (a command already started on the
server goes on without the wizard)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.app import registry
from wizard.engine.i18n import _


def in_flight_text(step: str | None, what: str | None) -> str:
    """What the run is doing on the server right now, for the dialog and for the terminal after quitting; the
    step (its recipe key) is named by its title."""
    if step is None:
        return _("The run has not started a step on the server yet.")
    step = registry.label(step)
    if what is None:
        return _("The run is at step {step}; nothing is changing on the server right now (it reads facts or "
                 "waits for you).").format(step=step)
    return _("A step is running on the server: {step}. Quitting stops the wizard, not commands already started "
             "there: {what}").format(step=step, what=what)


class QuitModal(Dialog[bool]):
    """Keep running is the safe answer: it has the focus, and Escape gives it."""

    SAFE = "stay"

    def __init__(self, step: str | None, what: str | None) -> None:
        super().__init__()
        self.step, self.what = step, what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(lambda: _("Quit during the run?"), classes="title")
                yield Said(lambda: in_flight_text(self.step, self.what), markup=False)
                yield Said(lambda: _("Your answers and the recipe stay saved; the run's journal says which steps "
                                     "completed."), markup=False)
            with Horizontal(classes="buttons"):
                yield SaidButton(lambda: _("Quit"), id="quit", variant="error")
                yield self.safe_button(lambda: _("Keep running"), variant="primary")

    def help_topic(self) -> str:
        return _("Quitting now stops the wizard and the run; a command already started on the server goes on "
                 "without it. Keep running closes this question.")

    @on(Button.Pressed, "#quit")
    def quit_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def stay(self) -> None:
        self.dismiss(False)
