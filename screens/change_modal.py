"""Step-through mode: before each change, what it is, why, and the exact command; continue or stop."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.teach import Teacher, change_line
from wizard.engine.i18n import _
from wizard.engine.runner import ChangeDecision
from wizard.engine.step import Change


class ChangeModal(Dialog[ChangeDecision]):
    """Continue runs the change; Skip leaves out just this one (the run goes on with the next); Stop ends the run
    here, as the operator's decision, not a failure. Continue has the focus: stepping through, Enter goes on, as
    the operator asked by turning step-through on; Stop is the safe answer Escape gives."""

    SAFE = "stop"
    FOCUS = "go"

    def __init__(self, step: str, change: Change) -> None:
        super().__init__()
        self.step, self.change = step, change

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(lambda: _("Next change in {step}").format(step=registry.step(self.step).label()),
                           classes="title", markup=False)
                yield Static(self.change.why, markup=False)
                yield Static(change_line(self.change, self._teacher().login), classes="section-title",
                             markup=False)
                yield Said(lambda: self._teacher().lesson(registry.step(self.step)).why, classes="teaching",
                           markup=False)
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Stop the run"))
                yield SaidButton(lambda: _("Skip this change"), id="skip")
                yield SaidButton(lambda: _("Continue"), id="go", variant="primary")

    def _teacher(self) -> Teacher:
        """The teaching with the names of the recipe being run (the wizard's draft)."""
        draft = getattr(self.app, "draft", None)
        return Teacher.for_draft(draft if isinstance(draft, Draft) else Draft())

    def help_topic(self) -> str:
        return _("Step-through: the run waits before each change. Continue runs it; Skip leaves out just this "
                 "one and goes on; Stop the run ends the run here (the Summary lists what was done).")

    @on(Button.Pressed, "#go")
    def go(self) -> None:
        self.dismiss("run")

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        self.dismiss("skip")

    @on(Button.Pressed, "#stop")
    def stop(self) -> None:
        self.dismiss("stop")
