"""The Textual app shell: the flow of screens, the draft they edit, language and help.

The only module of the core that imports textual (a test enforces it). Screens live in screens/; they read
and write `app.draft` and call `app.next_screen()` / `app.previous_screen()`. The step screens between the
target and the review are the pages of the flow table (screens.flow) for the installed steps.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button

from screens import typeset
from screens.keys import key_name, relabel
from wizard.engine import i18n
from wizard.engine.i18n import _, n_

if TYPE_CHECKING:
    from screens.run import RunScreen
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


class Fixing(NamedTuple):
    """The operator went back from a failed run to fix a step: which step, why it failed, and the screen of
    its form (Next there returns to the Review, which runs the recipe again)."""

    step: str | None  # None: the run failed before any step (the connection): the target screen
    error: str
    position: int


class WizardApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "deploy-wizard"
    # Descriptions are set in the current language by key_texts(); ctrl+n/ctrl+b: keys no Input uses.
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),  # where typing a ? is not text (a field keeps it)
        Binding("f2", "toggle_language", "中文/English"),
        Binding("ctrl+q", "quit_safely", "Quit", priority=True),  # in a dialog too (a failure waiting)
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
    ]
    # Textual's command palette speaks English only: F1 is the help
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, draft: Draft | None = None, *, start: str = "welcome") -> None:
        super().__init__()
        typeset.install()  # Chinese lines break between characters, never before "，" or inside an English word
        self._draft = draft  # created on first use: the step models are not needed to draw the welcome screen
        self.start = start
        self.position = -1  # index in flow(); -1 = welcome
        # the practice servers booted from the welcome screen: they outlive the wizard, so quitting says so
        self.sandboxes: list[SandboxInfo] = []
        self.fixing: Fixing | None = None
        # the `prompt` secrets typed for a plan or a run (by label, as steps ask): in memory only, so that a
        # language switch, a second plan or a run after "Back to edit" does not ask them all again
        self.secret_answers: dict[str, str] = {}
        relabel(self, self.key_texts())

    @staticmethod
    def key_texts() -> dict[str, str]:
        return {"help": _("Help"), "quit_safely": _("Quit"), "back": _("Back"), "next": _("Next")}

    @property
    def draft(self) -> Draft:
        if self._draft is None:
            from wizard.app.draft import Draft

            self._draft = Draft()
        return self._draft

    @draft.setter
    def draft(self, value: Draft) -> None:
        self._draft = value

    def get_default_screen(self) -> Screen:
        """The Welcome screen is the app's first screen itself, not pushed over Textual's blank one: that blank
        screen was composed, styled and drawn before it (18 ms of the first paint: 286 against 304 ms,
        bench/startup.py, 15 runs each)."""
        if self.start == "welcome":
            from screens.welcome import WelcomeScreen

            return WelcomeScreen()
        return super().get_default_screen()

    def on_mount(self) -> None:
        if self.start != "welcome":
            self.goto(0)
        self.call_after_refresh(resume_gc)

    # -- navigation ----------------------------------------------------------------------------------
    def goto(self, position: int) -> None:
        stops = flow()
        position = max(0, min(position, len(stops) - 1))
        self.draft.autosave()
        self.position = position
        _key, make = stops[position]
        screen = make()
        screen.flow_position = (position + 1, len(stops))  # type: ignore[attr-defined]  # the title bar's "n of N"
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def next_screen(self) -> None:
        """The next screen; from the form of a step being fixed after a failed run, the Review."""
        if self.fixing is not None and self.fixing.position == self.position:
            self.fixing = None
            self.goto(len(flow()) - 1)
        else:
            self.goto(self.position + 1)

    def previous_screen(self) -> None:
        if self.position <= 0:
            from screens.welcome import WelcomeScreen

            self.draft.autosave()
            self.position = -1
            self.switch_screen(WelcomeScreen())
        else:
            self.goto(self.position - 1)

    def edit_step(self, step: str | None, error: str = "") -> None:
        """Back from a failed run (its failure dialog or its summary) to the form of the step that failed, with
        every value kept. Next on that form returns to the Review, whose Run saves the recipe and runs it all
        again: the steps before it are converged, so they only read their facts and change nothing."""
        keys = [key for key, _make in flow()]
        position = next((index for index, key in enumerate(keys) if step and step in key.split("+")), 0)
        self.fixing = Fixing(step, error, position)
        if step:  # the failing step's own secrets are asked again: a wrong one may be why it failed
            self.secret_answers = {label: value for label, value in self.secret_answers.items()
                                   if not label.startswith(f"{step}.")}
        while len(self.screen_stack) > 2:  # the run, its summary, a dialog: down to the flow's screen
            self.pop_screen()
        self.goto(position)

    def pin_host_key(self, host: str, port: int, fingerprint: str) -> None:
        """A key the operator trusted for the recipe's own server becomes the recipe's pin (the target's host key),
        so a replay on another machine checks it too. A recipe file that held every answer is written again with
        it (the Review saves before a run, so a key trusted during the run lands there); other edits wait for Save."""
        from wizard.app.pins import pin_label

        target = self.draft.target
        if str(target.get("host") or "") != host or target.get("port", 22) not in (port, str(port)):
            return
        saved = self.draft.in_recipe_file()
        target["host_key"] = fingerprint
        if saved and self.draft.path is not None:
            from wizard.app.recipefile import RecipeError

            with suppress(RecipeError, OSError):  # the file stays as it was; the draft has the pin
                self.draft.save(self.draft.path)
        self.draft.autosave()
        self.notify(_("{fingerprint} is now the recipe's “{label}”: every run checks it.").format(
            fingerprint=fingerprint, label=pin_label()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Next and Back are keys for the screen's own buttons: shown (and working) where it has them."""
        if action in ("next", "back"):  # the help's own keys list them for the screen under it
            from screens.help import HelpScreen

            shown = [screen for screen in self.screen_stack if not isinstance(screen, HelpScreen)]
            return bool(shown) and bool(shown[-1].query(f"Button#{action}"))
        return True

    def get_key_display(self, binding: Binding) -> str:
        """Keys in the footer and the help as the texts write them: Ctrl+Q and F1, never ^q and f1."""
        return binding.key_display or key_name(binding.key)

    # -- actions -------------------------------------------------------------------------------------
    def action_next(self) -> None:
        self.screen.query_one("Button#next", Button).press()

    def action_back(self) -> None:
        self.screen.query_one("Button#back", Button).press()

    def action_help(self) -> None:
        """Help for the screen or dialog on show: its keys (as its footer has them) and what it is for."""
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_language(self) -> None:
        """F2: every screen on the stack says its words again, in place (Said widgets, and each screen's or widget's
        `relabel()`): nothing is drawn anew, so nothing that lives only on a screen is lost (a connection test's
        result or one under way, a plan read from the server, the checks that ran, a field's message, a dialog's
        answer half typed, the focus)."""
        from screens.said import relabel_widgets

        i18n.set_language("en" if i18n.language() == "zh_CN" else "zh_CN")
        relabel(self, self.key_texts())
        for screen in self.screen_stack:
            relabel_widgets(screen)
            relabel_screen = getattr(screen, "relabel", None)
            if relabel_screen is not None:
                relabel_screen()
        rebuild = getattr(self.screen, "rebuild", None)
        if rebuild is not None:  # a screen not made of Said widgets yet (the Learn screen) is drawn anew
            screen = rebuild()
            screen.flow_position = getattr(self.screen, "flow_position", None)
            self.switch_screen(screen)
        self.refresh_bindings()

    async def action_quit(self) -> None:
        """Every way out (Textual's own quit action too) keeps the draft and asks first during a run."""
        self.action_quit_safely()

    def action_quit_safely(self) -> None:
        from screens.confirm_modal import ConfirmModal
        from screens.quit_modal import QuitModal
        from screens.run import RunScreen

        if isinstance(self.screen, QuitModal | ConfirmModal):  # already asking
            return
        runs = [screen for screen in self.screen_stack if isinstance(screen, RunScreen) and screen.running]
        if not runs:
            self._leave()
            return
        run = runs[-1]

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.run_worker(self._stop_run_and_leave(run), exit_on_error=False)

        self.push_screen(QuitModal(*run.in_flight()), answered)

    async def _stop_run_and_leave(self, run: RunScreen) -> None:
        notice = run.quit_notice()  # what was in flight, said before the run is stopped
        await run.stop()
        self._leave(notice)

    def _leave(self, notice: str = "") -> None:
        """Quit: the draft saved and the terminal told where; first, practice servers this wizard started and that
        still run are named, with the offer to stop them (they would run on, unseen, until `sandbox down`)."""
        running = []
        if self.sandboxes:
            from wizard.lab import sandbox

            running = [info for info in self.sandboxes if sandbox.is_running(info.name)]
        if not running:
            self._finish(notice)
            return
        names = ", ".join(f"{info.name} ({info.ip})" for info in running)

        def answered(stop: bool | None) -> None:
            if stop:
                self.run_worker(self._stop_sandboxes_and_exit(running, notice), exit_on_error=False)
            else:
                self._finish("\n".join(filter(None, (notice, n_(
                    "The practice server {names} is still running; `deploy-wizard sandbox down {name}` removes it.",
                    "The practice servers {names} are still running; `deploy-wizard sandbox down {name}` removes them.",
                    len(running)).format(names=names, name=" ".join(info.name for info in running))))))

        self.push_screen(stop_sandboxes_question(names, len(running)), answered)

    async def _stop_sandboxes_and_exit(self, running: list[SandboxInfo], notice: str) -> None:
        import asyncio

        from wizard.lab import sandbox

        said = [notice]
        for info in running:
            try:
                await asyncio.to_thread(sandbox.down, info.name, lambda message: None)
            except sandbox.SandboxError as exc:
                said.append(_("The practice server {name} could not be stopped: {why}").format(name=info.name, why=exc))
            else:
                said.append(_("The practice server {name} is stopped and removed.").format(name=info.name))
        self._finish("\n".join(filter(None, said)))

    def _finish(self, notice: str = "") -> None:
        path = self.draft.autosave()
        if self.draft.blank:
            saved = ""
        elif path == self.draft.path:
            saved = _("Every answer is in the recipe {path}; `deploy-wizard edit {path}` opens it again.").format(
                path=path)
        else:
            saved = _("Your answers are saved in {path}; `deploy-wizard edit` opens them again.").format(path=path)
        self.exit(message="\n".join(filter(None, (notice, saved))) or None)


def resume_gc() -> None:
    """After the first screen is drawn: the garbage collector that `deploy-wizard` paused while Textual loaded
    (wizard.cli.new_edit.wizard) runs again. What the start left is frozen first: those objects live as long as
    the wizard, so no later collection walks them again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def stop_sandboxes_question(names: str, count: int) -> Screen[bool]:
    """Quitting with practice servers this wizard started still running: stop them, or leave them running."""
    from screens.confirm_modal import ConfirmModal

    return ConfirmModal(
        lambda: _("Stop the practice server?") if count == 1 else _("Stop the practice servers?"),
        lambda: n_("This wizard started the practice server {names}. It is still running, and keeps running after "
                   "the wizard ends. Stop it and remove every trace of it now?",
                   "This wizard started the practice servers {names}. They are still running, and keep running "
                   "after the wizard ends. Stop them and remove every trace of them now?", count).format(names=names),
        yes=lambda: _("Stop and remove"), no=lambda: _("Keep running"))


def run_app(file: Path | None = None) -> int:
    """Open the wizard, on a new draft or on a saved recipe/draft file. Without a file the draft is made on first
    use (WizardApp.draft): the Welcome screen is drawn before any step or the recipe model is loaded."""
    from screens.css_cache import kept

    if file is None:
        app = WizardApp()
    else:
        from wizard.app.draft import Draft

        app = WizardApp(Draft.load(file) if file.exists() else Draft(path=file), start="flow")
    with kept():
        app.run()
    return 0
