"""Review: the whole plan against the real server (changes, diffs, and what is already done), then run."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Static, Switch

from screens.form import FormSwitch
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.app.recipefile import Recipe, RecipeError
from wizard.engine.events import Event, StepFailed, StepNoop, StepPlanned
from wizard.engine.i18n import _, n_


class ReviewScreen(WizardScreen):
    def rebuild(self) -> ReviewScreen:
        return ReviewScreen()

    def compose(self) -> ComposeResult:
        draft = self.wizard_app.draft
        yield TitleBar()
        yield Static(_("Review the plan"), classes="title")
        with VerticalScroll(classes="form"):
            yield Static("", id="problems", classes="field-error")
            yield Static(_("Save the recipe as:"), classes="field-label")
            yield Input(value=str(draft.path or f"{draft.name}.yaml"), id="recipe-path")
            with Horizontal(classes="status"):
                yield FormSwitch(value=False, id="step-through")  # Space toggles it; Enter moves on
                yield Static(_("step through: pause before every change, with its explanation"),
                             classes="field-label")
            yield Button(_("Plan against the server"), id="plan")
            yield Static(_("The plan shows every change the run will make on the server, with file diffs, "
                           "and the checks that already pass. Nothing is changed until you press Run."),
                         id="plan-output", classes="preview", markup=False)
        with Horizontal(classes="buttons"):
            yield Button(_("Back"), id="back")
            yield Button(_("Save"), id="save")
            yield Button(_("Run"), id="run", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._recipe()

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

    def _save(self) -> Path | None:
        draft = self.wizard_app.draft
        if self._recipe() is None:
            return None
        path = Path(self.query_one("#recipe-path", Input).value.strip() or f"{draft.name}.yaml").expanduser()
        try:
            saved = draft.save(path)
        except (RecipeError, OSError) as exc:
            self.query_one("#problems", Static).update(str(exc))
            return None
        self.notify(_("Saved {path}").format(path=saved))
        return saved

    @on(Button.Pressed, "#back")
    def go_back(self) -> None:
        self.wizard_app.previous_screen()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self._save()

    @on(Button.Pressed, "#plan")
    def plan_pressed(self) -> None:
        recipe = self._recipe()
        if recipe is not None:
            self.query_one("#plan-output", Static).update(_("Reading facts from the server..."))
            self.run_worker(self.plan(recipe), exclusive=True)

    @on(Button.Pressed, "#run")
    def run_pressed(self) -> None:
        """The recipe file is written before the run: a run always has the file that replays it."""
        if self._save() is None:
            return
        recipe = self._recipe()
        if recipe is not None:
            from screens.run import RunScreen

            self.app.push_screen(RunScreen(recipe, step_through=self.query_one("#step-through", Switch).value))

    async def plan(self, recipe: Recipe) -> None:
        from screens.run import questions_for
        from wizard.app.session import run_recipe
        from wizard.engine.errors import DeployWizardError

        lines: list[str] = []

        def sink(event: Event) -> None:
            if isinstance(event, StepPlanned):
                count = n_("{n} change", "{n} changes", len(event.changes)).format(n=len(event.changes))
                lines.append(f"== {event.step}: " + (count if event.changes else _("nothing to do")))
                lines.extend(f"! {w['text']}\n    {w['fix']}" for w in event.warnings)
                for change in event.changes:
                    lines.append(f"+ {change['why']}\n    $ {change['do']}")
                    lines.extend("      " + line for line in str(change.get("diff") or "").splitlines()[:40])
                lines.extend(f"? {c['why']} ({_('decided at run time: {reason}').format(reason=c['do'])})"
                             for c in event.later)
            elif isinstance(event, StepNoop):
                lines.append(f"  = {event.reason}")
            elif isinstance(event, StepFailed):
                lines.append(f"! {event.step}: {event.error}")

        try:
            await run_recipe(recipe, "plan", sink, questions_for(self.app))
        except DeployWizardError as exc:
            lines.append(_("Error: {why}").format(why=exc))
        self.query_one("#plan-output", Static).update("\n".join(lines))
