"""A step failed: retry it, skip it, stop the run, or go back to its form to fix a value and run again."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.app import registry
from wizard.engine.i18n import _

# The runner's choices (retry, skip, abort) and "edit": stop the run and open the step's form.
FailureAnswer = Literal["retry", "skip", "abort", "edit"]


class FailureModal(Dialog[FailureAnswer]):
    """Abort is the safe answer (nothing more changes on the server; the Summary then says what failed and how to
    go on): it has the focus, and Escape gives it, as its label says."""

    SAFE = "abort"

    def __init__(self, step: str, error: str, *, can_edit: bool = False) -> None:
        super().__init__()
        self.step, self.error, self.can_edit = step, error, can_edit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(lambda: _("“{step}” failed").format(step=registry.label(self.step)), classes="title",
                           id="failure-title", markup=False)
                yield Static(self.error, markup=False)
                yield Said(lambda: _("Fix the cause (the step's 'If it fails' tab has the common ones), then retry. "
                                     "Skipping leaves the server incomplete; later steps may fail too."))
                if self.can_edit:
                    yield Said(lambda: _("A wrong value in the recipe? 'Back to edit' stops the run and opens the "
                                         "step's form; after the fix, the Review runs it again."))
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Abort"), variant="error")
                yield SaidButton(lambda: _("Skip"), id="skip")
                if self.can_edit:
                    yield SaidButton(lambda: _("Back to edit"), id="edit")
                yield SaidButton(lambda: _("Retry"), id="retry", variant="primary")

    def help_topic(self) -> str:
        return _("A step failed. Retry runs it again (after you fixed the cause on the server); Skip goes on "
                 "without it; Abort stops the run, and the Summary says what failed; 'Back to edit' opens the "
                 "step's form to change a value.")

    @on(Button.Pressed, "#retry")
    def retry(self) -> None:
        self.dismiss("retry")

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        self.dismiss("skip")

    @on(Button.Pressed, "#edit")
    def edit(self) -> None:
        self.dismiss("edit")

    @on(Button.Pressed, "#abort")
    def abort(self) -> None:
        self.dismiss("abort")
