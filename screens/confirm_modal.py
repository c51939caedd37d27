"""A yes/no question the operator answers before the wizard does something they did not ask for in so many
words (create a directory to save into, stop a practice server): a title, why, and two buttons that say what
each answer does. "No" is the safe answer: it has the focus, and Escape gives it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button

from screens.dialog import Dialog
from screens.said import Said, SaidButton, Say
from wizard.engine.i18n import _


class ConfirmModal(Dialog[bool]):
    SAFE = "no"

    def __init__(self, title: Say, text: Say, yes: Say, no: Say) -> None:
        """Each text is a function that says it in the current language (F2 says it again)."""
        super().__init__()
        self.title_text, self.text, self.yes, self.no = title, text, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Said(self.title_text, classes="title", markup=False)
                yield Said(self.text, markup=False, id="confirm-text")
            with Horizontal(classes="buttons"):
                yield self.safe_button(self.no)
                yield SaidButton(self.yes, id="yes", variant="primary")

    def help_topic(self) -> str:
        return _("A question before the wizard does something you did not ask for in so many words: each button "
                 "says what its answer does.")

    @on(Button.Pressed, "#yes")
    def yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def no_pressed(self) -> None:
        self.dismiss(False)
