"""Summary: what changed, where the journal and the recipe are, how to check the result, what next."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer

from screens.checks_view import ChecksView
from screens.dialog import button_keys
from screens.help import Keys, scroll_keys
from screens.keys import relabel
from screens.logs_view import LogsView
from screens.said import Said, SaidButton, Say
from screens.title_bar import TitleBar
from wizard.app import registry
from wizard.app.recipefile import Recipe
from wizard.app.teach import Teacher, command_line
from wizard.engine.i18n import _, clauses, n_
from wizard.engine.runner import RunResult


class SummaryScreen(Screen[None]):
    BINDINGS = [Binding("v", "run_checks", "Run these checks"),  # described in the current language: key_texts()
                Binding("l", "show_logs", "Logs")]

    def __init__(self, recipe: Recipe, result: RunResult | None, error: str | None,
                 recipe_path: Path | None) -> None:
        super().__init__()
        self.recipe, self.result, self.error, self.recipe_path = recipe, result, error, recipe_path
        self.login_user: str | None = None  # who the checks logged in as, once they connected
        self.relabel()

    @staticmethod
    def help_keys() -> Keys:
        """Only buttons take the focus here (no fields, no Next); the text scrolls while it has the focus."""
        return [*button_keys(), *scroll_keys(_("scroll the summary (Shift+Tab to it from the buttons)"))]

    @staticmethod
    def key_texts() -> dict[str, str]:
        return {"run_checks": _("Run these checks"), "show_logs": _("Logs")}

    def relabel(self) -> None:
        """The footer after F2 (its texts and buttons are Said: every word changes in place, and the checks already
        run keep their answers)."""
        relabel(self, self.key_texts())

    def _title(self) -> str:
        if self.result is not None and self.result.stopped:
            return _("Stopped at your request")
        if self._ok() and self.result is not None and self.result.declined:
            return _("Done, except the changes you left out")
        return _("Done: the server matches the recipe") if self._ok() else _("The run did not finish")

    def _ok(self) -> bool:
        return self.result is not None and self.result.ok

    def _buttons(self) -> dict[str, Say]:
        edit: dict[str, Say] = {} if self._ok() else {"edit": lambda: _("Back to edit")}
        return edit | {"run-checks": lambda: _("Run these checks"), "quit": lambda: _("Quit")}

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Said(self._title, classes="title", id="summary-title")
        with VerticalScroll(classes="form"):
            yield Said(self._text, markup=False, id="summary-text")
            yield ChecksView(self.recipe, on_login=self._logged_in)
            yield LogsView(self.recipe)
        with Horizontal(classes="buttons"):
            for button_id, say in self._buttons().items():
                yield SaidButton(say, id=button_id, variant="primary" if button_id == "quit" else "default")
        yield Footer()

    def _logged_in(self, login_user: str | None) -> None:
        """The checks connected: the commands listed are the ones they run, for the user the server logged in (a
        root login types no sudo, and `runuser` for another account)."""
        self.login_user = login_user
        self.query_one("#summary-text", Said).relabel()

    def _text(self) -> str:
        lines = self._outcome()
        if self.recipe_path:
            lines.append(_("Recipe: {path}; replay it with: deploy-wizard apply {path} --yes").format(
                path=self.recipe_path))
        lines.append("")
        lines.append(_("How to check (v runs these checks on the server and shows what they answer):"))
        teacher = Teacher.for_recipe(self.recipe, self.login_user)
        for local in (False, True):
            checks = [check for lesson in teacher.lessons() for check in lesson.checks if check.local is local]
            if checks:
                lines.append(teacher.where(local))
                lines += [f"  $ {command_line(check)}" for check in checks]
        lines.append("")
        lines += self._next()
        return "\n".join(lines)

    def _outcome(self) -> list[str]:
        """What the run did and where it stopped, each step by its title."""
        result = self.result
        lines = [_("Error: {why}").format(why=self.error)] if self.error else []
        if result is None:
            return lines
        if result.changes:
            lines.append(n_("{n} change ({steps}) in {s:.1f} s", "{n} changes ({steps}) in {s:.1f} s",
                            result.changes).format(n=result.changes, steps=titles(result.changed_steps),
                                                   s=result.seconds))
        elif result.error:  # "0 changes (-)" read as a missing word
            lines.append(_("No change in {s:.1f} s").format(s=result.seconds))
        else:
            lines.append(_("No change in {s:.1f} s: every step was already done").format(s=result.seconds))
        if result.error:
            lines.append(_("Stopped at {step}: {why}").format(step=registry.label(result.failed_step or "-"),
                                                             why=result.error))
        if result.stopped:
            lines.append(result.stopped)
            lines.append(_("The steps before it are done; nothing after it ran. Run the recipe again to go on."))
        if result.skipped:
            lines.append(_("Skipped: {steps}").format(steps=titles(result.skipped)))
        if result.declined:
            lines.append(_("Left out at your request (a run without step-through makes them): {changes}").format(
                changes=clauses(result.declined)))
        if result.journal:
            lines.append(_("Journal of this run: {path}").format(path=result.journal))
        return lines

    def _next(self) -> list[str]:
        """What to do now: after a failure, how to fix it and go on; after a clean run, prove it converged and
        automate it (the export formats that replay changes need --record-on: they record a real apply)."""
        path = self.recipe_path or f"{self.recipe.name}.yaml"
        result = self.result
        failed = result.failed_step if result is not None and (result.error or result.skipped) else None
        if failed or (result is not None and result.skipped):
            step = registry.label(failed or result.skipped[0])  # type: ignore[union-attr]
            return [_("Next: fix what stopped {step}: its screen's 'If it fails' tab lists the common causes, and "
                      "'Back to edit' opens its form. Then run the recipe again: the steps already done only check "
                      "that they are still in place, and the run goes on from {step}.").format(step=step)]
        if self.error or result is None:
            return [_("Next: the run stopped before its first step. Fix the cause above ('Back to edit' opens the "
                      "target server's form: host, login, key), then run the recipe again.")]
        if result.stopped:
            return []
        return [_("Next: run the same recipe again to see that nothing changes; keep the recipe in git."),
                _("More servers, the same way: `deploy-wizard apply {path} --host web2 --host web3`, or "
                  "`--inventory hosts.yaml` (a list of hosts); each gets the same steps, and its own "
                  "result.").format(path=path),
                _("Your own automation from it: `deploy-wizard export {path} --format shell --record-on sandbox` "
                  "writes a bash script of the same changes, `--format ansible --record-on sandbox` an Ansible "
                  "playbook (both record a first apply on a throwaway practice server); `deploy-wizard export "
                  "{path}` alone, a runbook to read.").format(path=path)]

    @on(Button.Pressed, "#run-checks")
    def action_run_checks(self) -> None:
        view = self.query_one(ChecksView)
        view.start()
        self.query_one(VerticalScroll).scroll_to_widget(view)

    def action_show_logs(self) -> None:
        view = self.query_one(LogsView)
        view.next_service()
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


def titles(steps: list[str]) -> str:
    """Steps by their titles, as a list in the current language ("、" between them in Chinese)."""
    return _(", ", context="between items").join(registry.label(step) for step in steps)
