"""Review: the whole plan against the real server (changes, diffs, and what is already done), then run."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Static, Switch

from screens.confirm_modal import ConfirmModal
from screens.form import FormSwitch
from screens.help import Keys, review_keys, scroll_keys, switch_keys
from screens.said import Said, SaidButton
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.app import registry
from wizard.app.recipefile import Recipe, RecipeError
from wizard.engine.events import Event, RunFinished, StepFailed, StepFinished
from wizard.engine.i18n import _


def waiting_text() -> str:
    return _("The plan shows every change the run will make on the server, with file diffs, and the checks that "
             "already pass. Nothing is changed until you press Run.")


class ReviewScreen(WizardScreen):
    """F2 says the words again in place (no rebuild): the plan read from the server, the step-through switch and
    the path typed stay as they are."""

    planned = False  # the plan's output replaced the text that says what a plan is

    def compose(self) -> ComposeResult:
        draft = self.wizard_app.draft
        yield TitleBar()
        yield Said(lambda: _("Review the plan"), classes="title")
        with VerticalScroll(classes="form"):
            yield Static("", id="problems", classes="field-error")
            yield Said(lambda: _("Save the recipe as:"), classes="field-label")
            yield Input(value=str(draft.path or f"{draft.name}.yaml"), id="recipe-path")
            with Horizontal(classes="status"):
                yield FormSwitch(value=False, id="step-through")  # Space toggles it; Enter moves on
                yield Said(lambda: _("step through: pause before every change, with its explanation"),
                           classes="field-label")
            yield SaidButton(lambda: _("Plan against the server"), id="plan")
            yield Static(waiting_text(), id="plan-output", classes="preview", markup=False)
        with Horizontal(classes="buttons"):
            yield SaidButton(lambda: _("Back"), id="back")
            yield SaidButton(lambda: _("Save"), id="save")
            yield SaidButton(lambda: _("Run"), id="run", variant="primary")
        yield Footer()

    def relabel(self) -> None:
        """After F2: what is missing, in the new language; the plan's output stays as the server's run said it."""
        if self.is_mounted:
            self._recipe()
            if not self.planned:
                self.query_one("#plan-output", Static).update(waiting_text())

    def help_keys(self) -> Keys:
        return [*review_keys(), *switch_keys(), *scroll_keys(_("scroll the plan"))]

    def on_mount(self) -> None:
        self._recipe()

    def first_field(self) -> Widget | None:
        """"Plan against the server", the next thing to do: not the file name, where the `?` of help (or any other
        key) would type over the name."""
        return self.query_one("#plan", Button)

    def _recipe(self) -> Recipe | None:
        """The draft as a valid recipe, or None with what is still missing shown on top."""
        draft = self.wizard_app.draft
        try:
            recipe = draft.recipe()
        except RecipeError as exc:
            self.query_one("#problems", Static).update(
                _("The recipe is not complete yet:") + "\n" + "\n".join(f"  {f}: {m}" for _l, f, m in exc.problems))
            return None
        self.query_one("#problems", Static).update("")
        return recipe

    async def _save(self) -> Path | None:
        """The recipe file written where the operator said; a directory that does not exist yet is created once
        they agree. What went wrong is said in their words, about their file (never a temporary name or errno)."""
        from wizard.engine.fsutil import why_not_written

        draft = self.wizard_app.draft
        if self._recipe() is None:
            return None
        path = Path(self.query_one("#recipe-path", Input).value.strip() or f"{draft.name}.yaml").expanduser()
        problems = self.query_one("#problems", Static)
        folder = path.absolute().parent
        if not folder.exists():
            create = await self.app.push_screen_wait(create_folder_question(folder, path.name))
            if not create:
                problems.update(_("Not saved: {folder} does not exist. Choose another place, or let the wizard "
                                  "create it.").format(folder=folder))
                return None
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                problems.update(_("Cannot create {folder}: {why}").format(folder=folder, why=why_not_written(exc)))
                return None
        try:
            saved = draft.save(path)
        except RecipeError as exc:
            problems.update(str(exc))
            return None
        except OSError as exc:
            problems.update(_("Cannot save {path}: {why}").format(path=path, why=why_not_written(exc)))
            return None
        self.notify(_("Saved {path}").format(path=saved))
        return saved

    @on(Button.Pressed, "#back")
    def go_back(self) -> None:
        self.wizard_app.previous_screen()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.run_worker(self._save(), group="save", exclusive=True)

    @on(Button.Pressed, "#plan")
    def plan_pressed(self) -> None:
        recipe = self._recipe()
        if recipe is not None:
            self.run_worker(self.plan(recipe), exclusive=True)

    @on(Button.Pressed, "#run")
    def run_pressed(self) -> None:
        self.run_worker(self._save_and_run(), group="save", exclusive=True)

    async def _save_and_run(self) -> None:
        """The recipe file is written before the run: a run always has the file that replays it."""
        if await self._save() is None:
            return
        recipe = self._recipe()
        if recipe is not None:
            from screens.run import RunScreen

            self.app.push_screen(RunScreen(recipe, step_through=self.query_one("#step-through", Switch).value,
                                           answers=self.wizard_app.secret_answers))

    async def plan(self, recipe: Recipe) -> None:
        """Every `prompt` secret first, then the dry run of every step in the passes apply makes
        (Runner.plan_ahead), shown as the CLI's `plan` shows it: changes with diffs, what only the run decides with
        its reason, warnings, and per step the changes planned apart from the ones decided at run time."""
        from screens.password_modal import ask_secrets
        from screens.run import questions_for
        from wizard.app.session import run_recipe, secret_questions
        from wizard.engine.errors import DeployWizardError
        from wizard.engine.sinks import ConsoleSink

        output = self.query_one("#plan-output", Static)
        self.planned = True
        questions = secret_questions(recipe)
        answers = self.wizard_app.secret_answers
        answers.update(await ask_secrets(self.app, questions, answers))
        missing = [q.label for q in questions if q.label not in answers]
        if missing:
            output.update(_("Not planned: {label} is set to 'prompt' and no value was given. Press the plan "
                            "button to type it, or give the recipe env:NAME or file:/path.").format(label=missing[0]))
            return
        output.update(_("Reading facts from the server..."))
        console = Console(file=io.StringIO(), record=True, width=max(40, output.content_size.width), markup=False,
                          highlight=False, emoji=False, soft_wrap=True)
        shown = ConsoleSink(console=console, table=True, show_output=False, label=registry.label)

        def sink(event: Event) -> None:
            shown(event)
            if isinstance(event, StepFinished | StepFailed | RunFinished):  # each step on screen once it is planned
                output.update(Text.from_ansi(console.export_text(clear=False, styles=True)))

        try:
            await run_recipe(recipe, "plan", sink, questions_for(self.app, answers))
        except DeployWizardError as exc:
            console.print(Text(_("Error: {why}").format(why=exc), style="bold red"))
        output.update(Text.from_ansi(console.export_text(clear=False, styles=True)))


def create_folder_question(folder: Path, name: str) -> ConfirmModal:
    """Save asks before it creates a directory: a typo in the path must not leave a tree of directories behind."""
    return ConfirmModal(lambda: _("Create {folder}?").format(folder=folder),
                        lambda: _("The directory to save the recipe in does not exist yet. Create it (and any missing "
                                  "directory above it), then save {name} there?").format(name=name),
                        yes=lambda: _("Create and save"), no=lambda: _("Cancel"))
