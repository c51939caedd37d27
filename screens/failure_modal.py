"""A step failed: retry it, skip it, or stop the run."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _
from wizard.engine.runner import FailureDecision


class FailureModal(ModalScreen[FailureDecision]):
    BINDINGS = [("escape", "abort", "Abort")]

    def __init__(self, step: str, error: str) -> None:
        super().__init__()
        self.step, self.error = step, error

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("Step {step} failed").format(step=self.step), classes="title")
            yield Static(self.error, markup=False)
            yield Static(_("Fix the cause (the step's 'If it fails' tab has the common ones), then retry. Skipping "
                           "leaves the server incomplete; later steps may fail too."))
            with Horizontal(classes="buttons"):
                yield Button(_("Abort"), id="abort", variant="error")
                yield Button(_("Skip"), id="skip")
                yield Button(_("Retry"), id="retry", variant="primary")

    @on(Button.Pressed, "#retry")
    def retry(self) -> None:
        self.dismiss("retry")

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        self.dismiss("skip")

    @on(Button.Pressed, "#abort")
    def action_abort(self) -> None:
        self.dismiss("abort")
