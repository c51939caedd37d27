"""Summary: what changed, where the journal and the recipe are, how to check the result, what next."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from screens.checks_view import ChecksView
from screens.help import Keys, general_keys, scroll_keys
from screens.keys import relabel
from screens.title_bar import TitleBar
from wizard.app.recipefile import Recipe
from wizard.app.teach import Teacher, command_line
from wizard.engine.i18n import _, clauses, n_
from wizard.engine.runner import RunResult


class SummaryScreen(Screen[None]):
    BINDINGS = [Binding("v", "run_checks", "Run these checks")]  # described in the current language: key_texts()

    def __init__(self, recipe: Recipe, result: RunResult | None, error: str | None,
                 recipe_path: Path | None) -> None:
        super().__init__()
        self.recipe, self.result, self.error, self.recipe_path = recipe, result, error, recipe_path
        self.relabel()

    @staticmethod
    def help_keys() -> Keys:
        return [*general_keys(), *scroll_keys(_("scroll the summary"))]

    @staticmethod
    def key_texts() -> dict[str, str]:
        return {"run_checks": _("Run these checks")}

    def relabel(self) -> None:
        """Every word after F2, in place: the checks already run keep their answers."""
        relabel(self, self.key_texts())
        if not self.is_mounted:
            return
        self.query_one("#summary-title", Static).update(self._title())
        self.query_one("#summary-text", Static).update(self._text())
        for button_id, label in self._buttons().items():
            self.query_one(f"#{button_id}", Button).label = label

    def _title(self) -> str:
        if self.result is not None and self.result.stopped:
            return _("Stopped at your request")
        if self._ok() and self.result is not None and self.result.declined:
            return _("Done, except the changes you left out")
        return _("Done: the server matches the recipe") if self._ok() else _("The run did not finish")

    def _ok(self) -> bool:
        return self.result is not None and self.result.ok

    def _buttons(self) -> dict[str, str]:
        edit = {} if self._ok() else {"edit": _("Back to edit")}
        return edit | {"run-checks": _("Run these checks"), "quit": _("Quit")}

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(self._title(), classes="title", id="summary-title")
        with VerticalScroll(classes="form"):
            yield Static(self._text(), markup=False, id="summary-text")
            yield ChecksView(self.recipe)
        with Horizontal(classes="buttons"):
            for button_id, label in self._buttons().items():
                yield Button(label, id=button_id, variant="primary" if button_id == "quit" else "default")
        yield Footer()

    def _text(self) -> str:
        lines = []
        if self.error:
            lines.append(_("Error: {why}").format(why=self.error))
        if self.result is not None:
            lines.append(n_("{n} change ({steps}) in {s:.1f} s", "{n} changes ({steps}) in {s:.1f} s",
                            self.result.changes).format(
                n=self.result.changes, steps=", ".join(self.result.changed_steps) or "-", s=self.result.seconds))
            if self.result.error:
                lines.append(_("Stopped at {step}: {why}").format(step=self.result.failed_step, why=self.result.error))
            if self.result.stopped:
                lines.append(self.result.stopped)
                lines.append(_("The steps before it are done; nothing after it ran. Run the recipe again to go on."))
            if self.result.skipped:
                lines.append(_("Skipped: {steps}").format(steps=", ".join(self.result.skipped)))
            if self.result.declined:
                lines.append(_("Left out at your request (a run without step-through makes them): {changes}").format(
                    changes=clauses(self.result.declined)))
            if self.result.journal:
                lines.append(_("Journal of this run: {path}").format(path=self.result.journal))
        if self.recipe_path:
            lines.append(_("Recipe: {path}; replay it with: deploy-wizard apply {path} --yes").format(
                path=self.recipe_path))
        lines.append("")
        lines.append(_("How to check (v runs these checks on the server and shows what they answer):"))
        teacher = Teacher.for_recipe(self.recipe)
        for local in (False, True):
            checks = [check for lesson in teacher.lessons() for check in lesson.checks if check.local is local]
            if checks:
                lines.append(teacher.where(local))
                lines += [f"  $ {command_line(check)}" for check in checks]
        lines.append("")
        lines.append(_("Next: run the same recipe again to see that nothing changes; keep the recipe in git."))
        path = self.recipe_path or f"{self.recipe.name}.yaml"
        lines.append(_("More servers, the same way: `deploy-wizard apply {path} --host web2 --host web3`, or "
                       "`--inventory hosts.yaml` (a list of hosts); each gets the same steps, and its own "
                       "result.").format(path=path))
        lines.append(_("Your own automation from it: `deploy-wizard export {path} --format shell --record-on "
                       "sandbox` writes a bash script of the same changes, `--format ansible` an Ansible playbook; "
                       "`deploy-wizard export {path}` alone, a runbook to read.").format(path=path))
        return "\n".join(lines)

    @on(Button.Pressed, "#run-checks")
    def action_run_checks(self) -> None:
        view = self.query_one(ChecksView)
        view.start()
        self.query_one(VerticalScroll).scroll_to_widget(view)

    @on(Button.Pressed, "#edit")
    def edit_pressed(self) -> None:
        """The form of the step that failed (the target's when the run stopped before any step)."""
        from screens.app import WizardApp

        if isinstance(self.app, WizardApp):
            result = self.result
            self.app.edit_step(result.failed_step if result else None,
                               (result.error if result else None) or self.error or "")

    @on(Button.Pressed, "#quit")
    def quit_pressed(self) -> None:
        """The way every screen quits: the draft is saved and the terminal says where."""
        from screens.app import WizardApp

        if isinstance(self.app, WizardApp):
            self.app.action_quit_safely()
        else:
            self.app.exit()
