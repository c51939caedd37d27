"""Trust on first use: show a new server's host key fingerprint and ask before trusting it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _


class HostKeyModal(ModalScreen[bool]):
    BINDINGS = [("escape", "refuse", "Refuse")]

    def __init__(self, host: str, port: int, fingerprint: str) -> None:
        super().__init__()
        self.host, self.port, self.fingerprint = host, port, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("New server: {host} (port {port})").format(host=self.host, port=self.port),
                         classes="title")
            yield Static(_("Its host key fingerprint is:"))
            yield Static(self.fingerprint, id="fingerprint", classes="section-title")
            yield Static(_("Compare it with the output of\n  ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\non "
                           "the server (cloud console). If they match, trust it: it becomes the recipe's pin, and "
                           "any other key stops every later run. If not, someone may be in between."))
            with Horizontal(classes="buttons"):
                yield Button(_("Refuse"), id="refuse")
                yield Button(_("Trust"), id="trust", variant="warning")

    @on(Button.Pressed, "#trust")
    def trust(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#refuse")
    def action_refuse(self) -> None:
        self.dismiss(False)
