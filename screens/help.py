"""Help: the keys of the screen it was opened on (as that screen's footer has them), and what the screen is for.

Why per screen: the keys differ (Next and Back exist only in the flow, the run screen has its own), and a
person asks for help about the screen in front of them, in the language it is shown in.
"""

from __future__ import annotations

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Static

from screens.dialog import Dialog, Keys
from wizard.engine.i18n import _


def topic(screen: str) -> str:
    """What the screen (by its class name) is for; the flow's screens share one text."""
    texts = {
        "WelcomeScreen": _("Start a new recipe, open a draft (the list holds the answers of every wizard you left; "
                           "Enter opens the one selected), open a recipe file, or boot a practice server."),
        "RunScreen": _("The recipe runs on the server, step by step. Package manager progress lines are folded "
                       "into one counting line; F3 shows every line (the run's journal keeps them all). Ctrl+Q "
                       "asks first: quitting stops the wizard, not a command already started on the server."),
        "SummaryScreen": _("What the run changed and how to check it. After a failure, 'Back to edit' opens the "
                           "form of the step that failed; Next there returns to the Review to run again."),
        "TargetScreen": _("Which server to set up and how to log in to it. 'Test connection' logs in once and "
                          "shows what the server is (its OS, Python, disk and memory) and whether sudo works; "
                          "nothing is changed there."),
        "ReviewScreen": _("The last screen before anything changes. 'Plan against the server' reads the real "
                          "server and lists every change the run will make; Save writes the recipe file; Run "
                          "saves it and runs it, step by step (with step-through: asking before each change)."),
    }
    return texts.get(screen, _(
        "Each screen edits one part of the recipe. The Plan tab shows the exact commands and files for what you "
        "typed; the Review screen plans against the real server; nothing changes on the server until you press "
        "Run. The recipe file replays without this screen: deploy-wizard apply FILE --yes."))


def general_keys() -> Keys:
    """What the keys do on every screen with a form: moving, and pressing what has the focus."""
    return [("Tab / Shift+Tab", _("the next / the previous field or button")),
            ("Enter", _("the next field (on the last: Next); on a button: press it"))]


def review_keys() -> Keys:
    """The Review: fields, then buttons (no Next: Run is what comes after it)."""
    return [("Tab / Shift+Tab", _("the next / the previous field or button")),
            ("Enter", _("the next field; on a button: press it"))]


def switch_keys() -> Keys:
    return [("Space", _("turn a yes/no switch on or off (Enter leaves it)"))]


def choice_keys() -> Keys:
    return [("Enter / Space", _("on a list of choices: open it; ↑ / ↓ then Enter choose and go on; Esc closes it "
                                "unchanged"))]


def scroll_keys(what: str) -> Keys:
    return [("↑ / ↓  PgUp / PgDn", what)]


def keys_for(screen: Screen[object] | None) -> Keys:
    """The keys of `screen`: what it says work there (its `help_keys`), then its footer's, as the footer shows them."""
    if screen is None:
        return [*general_keys(), *switch_keys()]
    own = getattr(screen, "help_keys", None)
    footer = [(screen.app.get_key_display(active.binding), active.binding.description)
              for active in screen.active_bindings.values()
              if active.binding.show and active.enabled and active.binding.action != "help"]
    return [*(own() if own else general_keys()), ("F1 / ?", _("this help (? only outside a text field)")), *footer]


class HelpScreen(Dialog[None]):
    """What the screen it was opened on is for, then its keys; F2 says it all again in the other language. The
    text scrolls (↑/↓, PgUp/PgDn) above the Close button, which stays in view at 80x24."""

    BINDINGS = [("question_mark", "close", "")]
    SAFE = "close"

    def __init__(self, about: Screen[object] | None = None) -> None:
        super().__init__()
        self.about = about
        self.keys = keys_for(about)

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))  # a text that wraps stays in its column, in any language
        keys.add_column(no_wrap=True)
        keys.add_column(overflow="fold")
        for key, text in self.keys:
            keys.add_row(key, text)
        about = getattr(self.about, "help_topic", None)
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Static(_("Help"), classes="title")
                yield Static((about() if about else topic(type(self.about).__name__)) + "\n", markup=False)
                yield Static(keys)
            with Horizontal(classes="buttons"):
                yield self.safe_button(lambda: _("Close"), variant="primary")

    def relabel(self) -> None:
        """F2: the keys and the text again, in the other language."""
        self.keys = keys_for(self.about)
        self.call_later(self.recompose)
        self.call_later(self.on_mount)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss()
