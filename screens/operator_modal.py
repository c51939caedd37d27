"""Something only a person can do (add a deploy key to the git host): wait until they say it is done.

Done has the focus: it is what the operator comes back to press, and harmless when pressed too soon (the step
checks again and fails, saying why). Abort is the safe answer Escape gives: the run stops there."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.app import registry
from wizard.engine.i18n import _


class OperatorModal(Dialog[bool]):
    SAFE = "abort"
    FOCUS = "done"

    def __init__(self, step: str, message: str) -> None:
        super().__init__()
        self.step, self.message = step, message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(lambda: _("Your turn ({step})").format(step=registry.label(self.step)), classes="title",
                           markup=False)
                yield Static(self.message, markup=False)
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Abort"))
                yield SaidButton(lambda: _("Done"), id="done", variant="primary")

    def help_topic(self) -> str:
        return _("The run waits for something only you can do. Do it, then press Done: the step checks it and "
                 "goes on (or says what is still missing). Abort stops the run here.")

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#abort")
    def abort(self) -> None:
        self.dismiss(False)
