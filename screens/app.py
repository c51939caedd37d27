"""The Textual app shell: the flow of screens, the draft they edit, language and help.

The only module of the core that imports textual (a test enforces it). Screens live in screens/; they read
and write `app.draft` and call `app.next_screen()` / `app.previous_screen()`. The step screens between the
target and the review are the pages of the flow table (screens.flow) for the installed steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from wizard.engine import i18n
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.draft import Draft
    from wizard.lab.sandbox import SandboxInfo

Stop = tuple[str, Callable[[], Screen[None]]]  # (key, make the screen): tests and snapshots name screens by key


def flow() -> list[Stop]:
    """The wizard's screens in order: target, a screen per page of the flow table, review (imported lazily:
    startup shows the first screen fast, before any step is loaded)."""
    from functools import partial

    from screens.flow import pages
    from screens.review import ReviewScreen
    from screens.step_screen import StepScreen
    from screens.target import TargetScreen
    from wizard.app import registry

    steps: list[Stop] = [(page.key, partial(StepScreen, page)) for page in pages(registry.steps())]
    return [("target", TargetScreen), *steps, ("review", ReviewScreen)]


class WizardApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "deploy-wizard"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "toggle_language", "中文/English"),
        Binding("ctrl+q", "quit_safely", "Quit"),
    ]
    # Textual's command palette speaks English only, and its Quit skips the draft's autosave: F1 is the help
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, draft: Draft | None = None, *, start: str = "welcome") -> None:
        super().__init__()
        self._footer_words()
        self._draft = draft  # created on first use: the step models are not needed to draw the welcome screen
        self.start = start
        self.position = -1  # index in flow(); -1 = welcome
        self.sandbox_info: SandboxInfo | None = None  # the practice server booted from the welcome screen

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
        stops = flow()
        position = max(0, min(position, len(stops) - 1))
        self.draft.autosave()
        self.position = position
        _key, make = stops[position]
        if len(self.screen_stack) > 1:
            self.switch_screen(make())
        else:
            self.push_screen(make())

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

    def _footer_words(self) -> None:
        """The footer's words in the current language: a class's bindings are made once, when it is imported."""
        words = {"help": _("Help"), "quit_safely": _("Quit")}
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [replace(b, description=words.get(b.action, b.description))
                                                   for b in bindings]

    def action_toggle_language(self) -> None:
        i18n.set_language("en" if i18n.language() == "zh_CN" else "zh_CN")
        self._footer_words()
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
