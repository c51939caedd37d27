"""Something only a person can do (add a deploy key to the git host): wait until they say it is done."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _


class OperatorModal(ModalScreen[bool]):
    def __init__(self, step: str, message: str) -> None:
        super().__init__()
        self.step, self.message = step, message

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("Your turn ({step})").format(step=self.step), classes="title")
            yield Static(self.message, markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Abort"), id="abort")
                yield Button(_("Done"), id="done", variant="primary")

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#abort")
    def abort(self) -> None:
        self.dismiss(False)
