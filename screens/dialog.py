"""The base of the wizard's dialogs: one safe answer, F1 and F2 as on every screen, buttons always in view.

Why a base: each dialog used to decide its keys alone, and the trial found them all wrong the same ways. A
dialog blocks the app's own keys (Textual's modal screens do), so F1 and F2 did nothing; no button had the focus,
so Enter did nothing either; Escape meant Abort without saying so. Here:

- one button is the safe answer (`SAFE`: the one that changes nothing more on the server, or stops); Escape
  presses it, and its label says so ("Refuse (Esc)");
- the focus starts on `FOCUS` (the safe answer, unless the dialog says why another one is the expected answer);
- F1 (and ? outside a field) shows the dialog's own help, F2 switches the language of every word in place;
- the text scrolls in its own pane above the buttons (↑/↓, PgUp/PgDn, whatever has the focus), so at 80x24 a
  long text never pushes them out of view.
"""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Button

from screens.said import SaidButton, Say
from wizard.engine.i18n import _

T = TypeVar("T")
Keys = list[tuple[str, str]]  # (the key as pressed, what it does there), in the current language


def button_keys() -> Keys:
    """Where only buttons take the focus (a dialog, the Summary): moving between them and pressing one."""
    return [("Tab / Shift+Tab", _("the next / the previous button")),
            ("Enter", _("press the button with the focus"))]


def escape_label(say: Say) -> Say:
    """The safe answer's label, with the key that also gives it."""
    return lambda: _("{label} (Esc)").format(label=say())


class Dialog(ModalScreen[T]):
    BINDINGS = [
        Binding("escape", "safe", show=False),
        Binding("f1", "app.help", show=False),
        Binding("question_mark", "app.help", show=False),
        Binding("f2", "app.toggle_language", show=False),
        *(Binding(key, f"scroll_body('{how}')", show=False) for key, how in (
            ("up", "scroll_up"), ("down", "scroll_down"), ("pageup", "page_up"), ("pagedown", "page_down"),
            ("home", "scroll_home"), ("end", "scroll_end"))),
    ]
    SAFE = "cancel"  # the id of the button Escape presses
    FOCUS: str | None = None  # the id of the widget focused on entry (None: SAFE's)
    safe_say: Say = staticmethod(lambda: _("Cancel"))  # the safe answer's words (safe_button sets them)

    def on_mount(self) -> None:
        self.query_one(f"#{self.FOCUS or self.SAFE}").focus()

    def action_safe(self) -> None:
        self.query_one(f"#{self.SAFE}", Button).press()

    def action_scroll_body(self, how: str) -> None:
        """The text scrolls under the keys while a button keeps the focus (a field keeps its own keys)."""
        for body in self.query(".dialog-body"):
            getattr(body, f"action_{how}")()

    def safe_button(self, say: Say, **kwargs: object) -> SaidButton:
        """The button Escape presses, labelled so."""
        self.safe_say = say
        return SaidButton(escape_label(say), id=self.SAFE, **kwargs)  # type: ignore[arg-type]

    def help_topic(self) -> str:
        """What the dialog asks, for its help (F1)."""
        return ""

    def help_keys(self) -> Keys:
        return [*button_keys(),
                ("↑ / ↓  PgUp / PgDn", _("scroll the text")),
                ("Esc", self.safe_say())]


__all__ = ["Dialog", "Keys", "button_keys", "escape_label"]
