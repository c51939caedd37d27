"""A step failed: retry it, skip it, stop the run, or go back to its form to fix a value and run again."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.engine.i18n import _


def step_label(name: str) -> str:
    """A step by its title, as its screen and the run show it (its name when it is not installed)."""
    from wizard.app import registry

    step = registry.by_name().get(name)
    return step.label() if step is not None else name


# The runner's choices (retry, skip, abort) and "edit": stop the run and open the step's form.
FailureAnswer = Literal["retry", "skip", "abort", "edit"]


class FailureModal(ModalScreen[FailureAnswer]):
    BINDINGS = [("escape", "abort", "Abort")]

    def __init__(self, step: str, error: str, *, can_edit: bool = False) -> None:
        super().__init__()
        self.step, self.error, self.can_edit = step, error, can_edit

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("“{step}” failed").format(step=step_label(self.step)), classes="title",
                         id="failure-title", markup=False)
            yield Static(self.error, markup=False)
            yield Static(_("Fix the cause (the step's 'If it fails' tab has the common ones), then retry. Skipping "
                           "leaves the server incomplete; later steps may fail too."))
            if self.can_edit:
                yield Static(_("A wrong value in the recipe? 'Back to edit' stops the run and opens the step's "
                               "form; after the fix, the Review runs it again."))
            with Horizontal(classes="buttons"):
                yield Button(_("Abort"), id="abort", variant="error")
                yield Button(_("Skip"), id="skip")
                if self.can_edit:
                    yield Button(_("Back to edit"), id="edit")
                yield Button(_("Retry"), id="retry", variant="primary")

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
    def action_abort(self) -> None:
        self.dismiss("abort")
