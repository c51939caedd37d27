"""Trust on first use: show a new server's host key fingerprint and ask before trusting it. Refuse is the safe
answer: it has the focus, and Escape gives it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.engine.i18n import _


class HostKeyModal(Dialog[bool]):
    SAFE = "refuse"

    def __init__(self, host: str, port: int, fingerprint: str) -> None:
        super().__init__()
        self.host, self.port, self.fingerprint = host, port, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(lambda: _("New server: {host} (port {port})").format(host=self.host, port=self.port),
                           classes="title", markup=False)
                yield Said(lambda: _("Its host key fingerprint is:"))
                yield Static(self.fingerprint, id="fingerprint", classes="section-title", markup=False)
                yield Said(lambda: _("Compare it with the output of\n  ssh-keygen -lf "
                                     "/etc/ssh/ssh_host_ed25519_key.pub\non the server (cloud console). If they match, "
                                     "trust it: it becomes the recipe's pin, and any other key stops every later run. "
                                     "If not, someone may be in between."), markup=False)
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Refuse"))
                yield SaidButton(lambda: _("Trust"), id="trust", variant="warning")

    def help_topic(self) -> str:
        return _("The first connection to a server: trust its host key only when the fingerprint matches the one "
                 "the server itself shows. Refuse ends the connection; nothing is sent to the server.")

    @on(Button.Pressed, "#trust")
    def trust(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#refuse")
    def refuse(self) -> None:
        self.dismiss(False)
