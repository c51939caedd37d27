"""Help: the keys, and how the wizard works."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("Help"), classes="title")
            yield Static(_("Tab / Shift+Tab  move between fields\n"
                           "Enter            press a button\n"
                           "F1               this help\n"
                           "F2               中文 / English\n"
                           "Ctrl+Q           quit (your answers are kept as a draft)\n\n"
                           "Each screen edits one part of the recipe. The Plan tab shows the exact commands and "
                           "files for what you typed; the Review screen plans against the real server; nothing "
                           "changes on the server until you press Run. The recipe file replays without this "
                           "screen: deploy-wizard apply FILE --yes."), markup=False)
            yield Button(_("Close"), id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss()
