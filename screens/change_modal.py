"""Step-through mode: before each change, what it is, why, and the exact command; continue or stop."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.teach import Teacher, change_line
from wizard.engine.i18n import _
from wizard.engine.runner import ChangeDecision
from wizard.engine.step import Change


class ChangeModal(ModalScreen[ChangeDecision]):
    """Continue runs the change; Skip leaves out just this one (the run goes on with the next); Stop ends the run
    here, as the operator's decision, not a failure."""

    BINDINGS = [("enter", "go", "Continue"), ("escape", "stop", "Stop")]

    def __init__(self, step: str, change: Change) -> None:
        super().__init__()
        self.step, self.change = step, change

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(_("Next change in {step}").format(step=registry.step(self.step).label()), classes="title")
            yield Static(self.change.why, markup=False)
            yield Static("$ " + change_line(self.change), classes="section-title", markup=False)
            yield Static(self._why(), classes="teaching", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Stop the run"), id="stop")
                yield Button(_("Skip this change"), id="skip")
                yield Button(_("Continue"), id="go", variant="primary")

    def _why(self) -> str:
        """The step's why with the names of the recipe being run (the wizard's draft)."""
        draft = getattr(self.app, "draft", None)
        if isinstance(draft, Draft):
            return Teacher.for_draft(draft).lesson(registry.step(self.step)).why
        return registry.step(self.step).lesson().why

    @on(Button.Pressed, "#go")
    def action_go(self) -> None:
        self.dismiss("run")

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        self.dismiss("skip")

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        self.dismiss("stop")
