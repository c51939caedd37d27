"""The Textual app shell: the flow of screens, the draft they edit, language and help.

The only module of the core that imports textual (a test enforces it). Screens live in screens/, one per
file; they read and write `app.draft` and call `app.next_screen()` / `app.previous_screen()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding

from wizard.engine import i18n
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.draft import Draft


def flow() -> list[type]:
    """The wizard's screens in order (imported lazily: startup shows the first screen fast)."""
    from screens.code import CodeScreen
    from screens.database import DatabaseScreen
    from screens.monitoring import MonitoringScreen
    from screens.os_updates import OsUpdatesScreen
    from screens.python_env import PythonScreen
    from screens.review import ReviewScreen
    from screens.security import SecurityScreen
    from screens.target import TargetScreen
    from screens.web import WebScreen

    return [TargetScreen, OsUpdatesScreen, PythonScreen, CodeScreen, DatabaseScreen, WebScreen, SecurityScreen,
            MonitoringScreen, ReviewScreen]


class WizardApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "deploy-wizard"
    BINDINGS = [
        Binding("f1", "help", _("Help")),
        Binding("f2", "toggle_language", "中文/English"),
        Binding("ctrl+q", "quit_safely", _("Quit")),
    ]

    def __init__(self, draft: Draft | None = None, *, start: str = "welcome") -> None:
        super().__init__()
        self._draft = draft  # created on first use: the step models are not needed to draw the welcome screen
        self.start = start
        self.position = -1  # index in flow(); -1 = welcome
        self.sandbox_info: object | None = None

    @property
    def draft(self) -> Draft:
        if self._draft is None:
            from wizard.app.draft import Draft

            self._draft = Draft()
        return self._draft

    @draft.setter
    def draft(self, value: Draft) -> None:
        self._draft = value

    def on_mount(self) -> None:
        if self.start == "welcome":
            from screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        else:
            self.goto(0)

    # -- navigation ----------------------------------------------------------------------------------
    def goto(self, position: int) -> None:
        screens = flow()
        position = max(0, min(position, len(screens) - 1))
        self.draft.autosave()
        self.position = position
        if len(self.screen_stack) > 1:
            self.switch_screen(screens[position]())
        else:
            self.push_screen(screens[position]())

    def next_screen(self) -> None:
        self.goto(self.position + 1)

    def previous_screen(self) -> None:
        if self.position <= 0:
            from screens.welcome import WelcomeScreen

            self.draft.autosave()
            self.position = -1
            self.switch_screen(WelcomeScreen())
        else:
            self.goto(self.position - 1)

    # -- actions -------------------------------------------------------------------------------------
    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_toggle_language(self) -> None:
        i18n.set_language("en" if i18n.language() == "zh_CN" else "zh_CN")
        self.refresh_bindings()
        current = self.screen
        rebuild = getattr(current, "rebuild", None)
        if rebuild is not None:
            self.switch_screen(rebuild())

    def action_quit_safely(self) -> None:
        path = self.draft.autosave()
        self.exit(message=_("Your answers are saved in {path}; `deploy-wizard edit` opens them again.").format(
            path=path))


def run_app(file: Path | None = None) -> int:
    """Open the wizard, on a new draft or on a saved recipe/draft file."""
    from wizard.app.draft import Draft

    draft = Draft.load(file) if file and file.exists() else Draft(path=file)
    app = WizardApp(draft, start="flow" if file else "welcome")
    app.run()
    return 0
