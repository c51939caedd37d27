"""Run: the recipe applied live, each step's state and time, every command's output as it happens."""

from __future__ import annotations

import time
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Log, Static

from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.app.recipefile import Recipe
from wizard.app.session import Questions
from wizard.engine.events import (
    ChangeStarted,
    Event,
    Notice,
    OutputLine,
    RunFinished,
    StepFailed,
    StepFinished,
    StepNoop,
    StepStarted,
)
from wizard.engine.i18n import _, n_
from wizard.engine.runner import FailureDecision, RunResult
from wizard.engine.step import Change

STATES = {"pending": "·", "running": "▶", "changed": "✚", "ok": "✓", "failed": "✗", "planned": "…"}


def questions_for(app: App[Any], answers: dict[str, str] | None = None) -> Questions:
    """How the TUI asks: modals for host keys, sudo, failures, operator pauses; secrets asked beforehand."""
    from screens.failure_modal import FailureModal
    from screens.host_key_modal import HostKeyModal
    from screens.operator_modal import OperatorModal
    from screens.password_modal import PasswordModal

    async def trust(host: str, port: int, fingerprint: str) -> bool:
        return await app.push_screen_wait(HostKeyModal(host, port, fingerprint))

    async def sudo_password(prompt: str) -> str | None:
        return await app.push_screen_wait(PasswordModal(prompt))

    async def on_failure(step: str, error: str) -> FailureDecision:
        return await app.push_screen_wait(FailureModal(step, error))

    async def operator(step: str, message: str) -> bool:
        return await app.push_screen_wait(OperatorModal(step, message))

    return Questions(trust_host_key=trust, sudo_password=sudo_password,
                     secret=(lambda label: (answers or {}).get(label)), operator=operator, on_failure=on_failure)


class RunScreen(WizardScreen):
    BINDINGS = [("ctrl+c", "noop", "")]

    def __init__(self, recipe: Recipe, step_through: bool = False, answers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.recipe = recipe
        self.answers = answers or {}  # `prompt` secrets the review already asked
        self.step_through = step_through
        self.buffer: list[str] = []
        self.started: dict[str, float] = {}
        self.result: RunResult | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(_("Running on {host}").format(host=self.recipe.target.host), classes="title", id="run-title")
        with Horizontal(classes="columns"):
            yield DataTable(id="steps", cursor_type="none", zebra_stripes=True)
            yield Log(id="log", max_lines=200_000, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        table.styles.width = 30
        table.add_columns(_("step"), _("state"), _("time"))
        for step, _settings in self.recipe.selected():
            table.add_row(step.name, STATES["pending"], "", key=step.name)
        self.set_interval(0.1, self.flush)  # high-rate output is coalesced into one write per tick
        self.set_interval(1, self.tick)
        self.run_worker(self.run_recipe(), exclusive=True)

    def flush(self) -> None:
        if self.buffer:
            lines, self.buffer = self.buffer, []
            self.query_one("#log", Log).write_lines(lines)

    def tick(self) -> None:
        table = self.query_one("#steps", DataTable)
        for step, started in self.started.items():
            table.update_cell(step, table.ordered_columns[2].key, f"{time.monotonic() - started:.0f} s")

    def _state(self, step: str, state: str) -> None:
        labels = {"pending": _("pending"), "running": _("running"), "changed": _("changed"), "ok": _("ok"),
                  "failed": _("failed"), "planned": _("planned")}
        table = self.query_one("#steps", DataTable)
        table.update_cell(step, table.ordered_columns[1].key, STATES.get(state, state) + " " + labels.get(state, state))

    def sink(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.started[event.step] = time.monotonic()
            self._state(event.step, "running")
            self.buffer.append(f"== [{event.index + 1}/{event.total}] {event.step}")
        elif isinstance(event, ChangeStarted):
            self.buffer += [f"+ {event.why}", f"  $ {event.description}"]
        elif isinstance(event, OutputLine):
            self.buffer.append(f"  | {event.text}")
        elif isinstance(event, Notice):
            self.buffer.append(f"  ! {event.text}")
        elif isinstance(event, StepNoop):
            self.buffer.append(f"  = {event.reason}")
        elif isinstance(event, StepFailed):
            self.buffer.append(f"  ✗ {event.error}")
        elif isinstance(event, StepFinished):
            self.started.pop(event.step, None)
            self._state(event.step, event.status)
        elif isinstance(event, RunFinished):
            self.buffer.append(n_("{n} change in {s:.1f} s", "{n} changes in {s:.1f} s", event.changes).format(
                n=event.changes, s=event.seconds))

    async def run_recipe(self) -> None:
        from screens.change_modal import ChangeModal
        from screens.password_modal import ask_secrets
        from wizard.app.session import run_recipe, secret_questions
        from wizard.engine.errors import DeployWizardError

        answers = await ask_secrets(self.app, secret_questions(self.recipe), self.answers)

        async def before_change(step: str, change: Change) -> bool:
            return await self.app.push_screen_wait(ChangeModal(step, change))

        error = None
        try:
            self.result = await run_recipe(self.recipe, "apply", self.sink, questions_for(self.app, answers),
                                           before_change=before_change if self.step_through else None)
        except DeployWizardError as exc:
            error = str(exc)
        self.flush()
        from screens.summary import SummaryScreen

        self.app.push_screen(SummaryScreen(self.recipe, self.result, error, self.wizard_app.draft.path))

    def action_noop(self) -> None:
        self.notify(_("The run continues; abort it from the failure dialog, or quit with Ctrl+Q."))
