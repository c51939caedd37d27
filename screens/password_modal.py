"""A password dialog: the sudo password asked once per connection, and every `prompt` secret of a recipe asked
before a plan or a run (a new password typed twice); never shown, logged or saved."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from screens.dialog import Dialog
from screens.said import Said, SaidButton
from wizard.app.session import SecretQuestion
from wizard.engine.i18n import _


def sudo_text() -> str:
    return _("Kept in memory for this connection only, fed to sudo on its input; never written anywhere.")


class PasswordModal(Dialog[str | None]):
    """Answers what was typed, or None (Cancel, Escape, nothing typed). With `confirm`, the value is typed twice
    and only two equal entries are an answer. Without a `text`, it is the sudo password's dialog. The password
    field has the focus; Cancel is the safe answer Escape gives."""

    FOCUS = "password"

    def __init__(self, prompt: str, text: str | None = None, *, confirm: bool = False, label: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.text = text
        self.confirm = confirm
        self.label = label  # the recipe's setting that says `prompt`

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):  # at 80x24 a long text scrolls; the buttons stay in view
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.prompt, classes="title", id="password-title", markup=False)
                if self.label:
                    yield Said(lambda: _("recipe setting: {label}: prompt").format(label=self.label),
                               id="password-label", classes="field-label", markup=False)
                yield Said(lambda: self.text if self.text is not None else sudo_text(), id="password-text",
                           markup=False)
                yield Input(password=True, id="password")
                if self.confirm:
                    yield Said(lambda: _("Typed twice: the run sets this password, and a typo would become it."),
                               id="password-twice", markup=False)
                    yield Input(password=True, id="confirm", placeholder=_("the same again"))
                    error = Static("", id="password-error", classes="field-error")
                    error.display = False
                    yield error
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Cancel"))
                yield SaidButton(lambda: _("OK", context="button"), id="ok", variant="primary")

    def relabel(self) -> None:
        if self.confirm and self.is_mounted:
            self.query_one("#confirm", Input).placeholder = _("the same again")

    def help_topic(self) -> str:
        return _("The password is never shown, logged or saved: it is kept in memory for this run only. Enter in "
                 "the field answers (a new password: Enter goes to the second field, to type it again).")

    def _answer(self) -> None:
        value = self.query_one("#password", Input).value
        if self.confirm and value and value != self.query_one("#confirm", Input).value:
            error = self.query_one("#password-error", Static)
            error.update(_("The two entries differ: type the password again."))
            error.display = True
            self.query_one("#confirm", Input).value = ""
            self.query_one("#confirm", Input).focus()
            return
        self.dismiss(value or None)

    @on(Input.Submitted, "#password")
    def submitted(self) -> None:
        if self.confirm:
            self.query_one("#confirm", Input).focus()
        else:
            self._answer()

    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        self._answer()

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.dismiss(None)


async def ask_secrets(app: App[Any], questions: list[SecretQuestion], known: dict[str, str]) -> dict[str, str]:
    """The answers to every question not answered yet (`known` kept), one dialog each, in order; asking stops at
    the first one the operator cancels, so what is missing is what `questions` has beyond the answers."""
    answers = dict(known)
    for question in questions:
        if question.label in answers:
            continue
        value = await app.push_screen_wait(PasswordModal(question.title, question.text, confirm=question.new,
                                                         label=question.label))
        if not value:
            break
        answers[question.label] = value
    return answers
