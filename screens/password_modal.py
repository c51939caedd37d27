"""The sudo password, asked once per connection; never shown, logged or saved."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from wizard.engine.i18n import _


class PasswordModal(ModalScreen[str | None]):
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.prompt, classes="title")
            yield Static(_("Kept in memory for this connection only, fed to sudo on its input; never written "
                           "anywhere."))
            yield Input(password=True, id="password")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("OK"), id="ok", variant="primary")

    @on(Input.Submitted, "#password")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        self.dismiss(self.query_one("#password", Input).value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
