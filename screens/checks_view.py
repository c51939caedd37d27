"""The Summary's "Run these checks": every step's checks run on the server, each with pass or fail and what it said.

Why a widget of its own: the Summary stays a summary, and the connection, the questions it may need (a new host
key, a sudo password) and the results live here. The checks are the ones the Summary lists (wizard.app.checks
runs the same lessons wizard.app.teach renders), so what passes here is what the operator can type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from textual.widgets import Static

from wizard.app import registry
from wizard.app.checks import CheckResult, Verdict, summary
from wizard.app.recipefile import Recipe
from wizard.engine.i18n import _

MARKS = {Verdict.PASSED: "✓", Verdict.FAILED: "✗", Verdict.NOT_RUN: "-"}
PASSED_LINES = 3  # a passing check shows the start of its answer; a failing one all that was kept


class ChecksView(Static):
    """`on_login` is told who the connection logged in as, before the first check runs: the Summary then lists
    the commands as they run for that user (sudo, or runuser for a root login), the same lines as the results."""

    def __init__(self, recipe: Recipe, on_login: Callable[[str | None], None] | None = None) -> None:
        super().__init__("", markup=False, id="checks")
        self.recipe = recipe
        self.on_login = on_login
        self.results: list[CheckResult] = []
        self.running = False
        self.state: Literal["idle", "connecting", "running", "done"] = "idle"
        self.error: str | None = None  # why the checks could not run

    def relabel(self) -> None:
        """F2: the results said again in the other language (each check's own output stays as it came)."""
        if self.state == "connecting":
            self.update(self._connecting())
        elif self.state != "idle":
            self.update(self.text(done=self.state == "done"))

    def _connecting(self) -> str:
        return _("Connecting to {host} to run the checks…").format(host=self.recipe.target.host)

    def start(self) -> None:
        """Connect and run every check (once at a time); results appear as they come."""
        if self.running:
            self.app.notify(_("The checks are running."))
            return
        self.running, self.results, self.error, self.state = True, [], None, "connecting"
        self.update(self._connecting())
        self.run_worker(self._run(), exclusive=True, group="checks")

    async def _run(self) -> None:
        from screens.run import questions_for
        from wizard.app.checks import verify_recipe
        from wizard.engine.errors import DeployWizardError

        try:
            await verify_recipe(self.recipe, questions_for(self.app), on_result=self._add, on_login=self._logged_in)
        except DeployWizardError as exc:
            self.error, self.state = str(exc), "running"
        else:
            self.state = "done"
        finally:
            self.running = False
        self.update(self.text(done=self.state == "done"))

    def _logged_in(self, login_user: str | None) -> None:
        self.state = "running"
        self.update(self.text())
        if self.on_login is not None:
            self.on_login(login_user)

    def _add(self, result: CheckResult) -> None:
        self.results.append(result)
        self.update(self.text())

    def text(self, done: bool = False) -> str:
        lines = [summary(self.results) if done else _("Running the checks… ({n} so far)").format(n=len(self.results))]
        for result in self.results:
            status = {Verdict.FAILED: _("exit {code}").format(code=result.exit_status),
                      Verdict.NOT_RUN: _("not run")}.get(result.verdict)
            colon = _(": ", context="before what it introduces")  # "：" in Chinese
            head = f"{MARKS[result.verdict]} {registry.label(result.step)}{colon}{result.command}"
            lines.append(head + (f"  ({status})" if status else ""))
            output = result.output.splitlines()
            shown = output[:PASSED_LINES] if result.passed else output
            lines += [f"    {line}" for line in shown]
            if len(shown) < len(output):
                lines.append("    …")
        if self.error is not None:
            lines.append(_("The checks could not run: {why}").format(why=self.error))
        return "\n".join(lines)


__all__ = ["ChecksView"]
