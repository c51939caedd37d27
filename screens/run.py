"""Run: the recipe applied live, each step's state and time, every command's output as it happens."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Footer
from textual.widgets.data_table import ColumnKey
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from screens.help import Keys, scroll_keys
from screens.keys import relabel
from screens.quit_modal import in_flight_text
from screens.run_output import (
    SCROLLBACK,
    Fold,
    RunLog,
    column_widths,
    is_progress,
    row_height,
    scrollback_notice,
    state_label,
    step_cell,
)
from screens.said import Said
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.app import registry
from wizard.app.recipefile import Recipe, RecipeError
from wizard.app.session import Questions
from wizard.engine.events import (
    ChangeDone,
    ChangeStarted,
    Event,
    Notice,
    OutputLine,
    RunFinished,
    StepFailed,
    StepFinished,
    StepNoop,
    StepStarted,
    notice_mark,
)
from wizard.engine.i18n import _, n_
from wizard.engine.runner import ChangeDecision, FailureDecision, RunResult
from wizard.engine.step import Change

EditStep = Callable[[str, str], None]  # (step, error): stop the run and open the step's form
# the sudo passwords typed in each app (the review's plan, then the run): asked once per login, not per connection
_SUDO: WeakKeyDictionary[App[Any], dict[str, str]] = WeakKeyDictionary()


def questions_for(app: App[Any], answers: dict[str, str] | None = None, edit: EditStep | None = None) -> Questions:
    """How the TUI asks: modals for host keys, sudo, failures, operator pauses; secrets asked beforehand.
    With `edit`, the failure dialog also offers "Back to edit": the run stops there and `edit` is told."""
    from screens.failure_modal import FailureModal
    from screens.host_key_modal import HostKeyModal
    from screens.operator_modal import OperatorModal
    from screens.password_modal import PasswordModal

    async def trust(host: str, port: int, fingerprint: str) -> bool:
        from screens.app import WizardApp

        trusted = await app.push_screen_wait(HostKeyModal(host, port, fingerprint))
        if trusted and isinstance(app, WizardApp):  # the recipe's pin from now on
            app.pin_host_key(host, port, fingerprint)
        return trusted

    async def sudo_password(prompt: str) -> str | None:
        return await app.push_screen_wait(PasswordModal(prompt))

    async def on_failure(step: str, error: str) -> FailureDecision:
        answer = await app.push_screen_wait(FailureModal(step, error, can_edit=edit is not None))
        if answer == "edit":
            assert edit is not None
            edit(step, error)
            return "abort"
        return answer

    async def operator(step: str, message: str) -> bool:
        return await app.push_screen_wait(OperatorModal(step, message))

    return Questions(trust_host_key=trust, sudo_password=sudo_password,
                     secret=(lambda label: (answers or {}).get(label)), operator=operator, on_failure=on_failure,
                     sudo_memory=_SUDO.setdefault(app, {}))


class RunScreen(WizardScreen):
    """The output scrolls with ↑/↓, PgUp/PgDn, Home/End whatever has the focus (nothing did on entry, so the
    keys did nothing until a click on the log): the log has the focus, and the screen passes the keys to it."""

    BINDINGS = [("ctrl+c", "noop", ""), Binding("f3", "toggle_output", "All output"),
                *(Binding(key, f"scroll_log('{how}')", show=False) for key, how in (
                    ("up", "scroll_up"), ("down", "scroll_down"), ("pageup", "page_up"), ("pagedown", "page_down"),
                    ("home", "scroll_home"), ("end", "scroll_end")))]

    def __init__(self, recipe: Recipe, step_through: bool = False, answers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.recipe = recipe
        self.answers = answers if answers is not None else {}  # the app's `prompt` secrets: answered ones kept
        self.step_through = step_through
        self.buffer: list[str | Fold] = []  # written to the log ten times a second
        # the last SCROLLBACK lines as they came, and whether each is apt/dpkg progress (F3 shows them); the run's
        # journal keeps every line, so the screen's memory and a redraw stay the same size however long the run
        self.entries: deque[tuple[str, bool]] = deque(maxlen=SCROLLBACK)
        self.view: deque[str | Fold] = deque(maxlen=SCROLLBACK)  # the same, each run of progress as one fold
        self.dropped = False  # lines went out of the screen's memory (said once)
        self.fold: Fold | None = None  # the run of progress lines going on
        self.shown_fold: Fold | None = None  # the fold whose line is the log's last line
        self.full_output = False
        self.started: dict[str, float] = {}
        self.step_at: str | None = None  # the step the run is at (until the run ends)
        self.command: str | None = None  # the change running on the server now, if one is
        self.edit_request: tuple[str, str] | None = None  # (step, error): back to its form after the run
        self.states: dict[str, str] = {}  # each step's state, by its recipe key (F2 says them again)
        self.step_width = 0
        self.result: RunResult | None = None
        self.worker: Worker[None] | None = None
        relabel(self, self.key_texts())

    def help_keys(self) -> Keys:
        return [*scroll_keys(_("scroll the output")), ("Home / End", _("the first / the last line of the output"))]

    def first_field(self) -> Widget:
        return self.query_one("#log", RunLog)

    def action_scroll_log(self, how: str) -> None:
        getattr(self.query_one("#log", RunLog), f"action_{how}")()

    def key_texts(self) -> dict[str, str]:
        return {"toggle_output": _("Folded output") if self.full_output else _("All output")}

    def relabel(self) -> None:
        """F2: the footer, the table's headings, titles and states in the other language (the log keeps what the
        run said)."""
        relabel(self, self.key_texts())
        if not self.is_mounted:
            return
        table = self.query_one("#steps", DataTable)
        for key, label in self._headings().items():
            table.columns[ColumnKey(key)].label = Text(label)
        for name, state in self.states.items():
            table.update_cell(name, "step", step_cell(registry.label(name), self.step_width))
            table.update_cell(name, "state", state_label(state))
        table.refresh()

    @staticmethod
    def _headings() -> dict[str, str]:
        return {"step": _("step"), "state": _("state"), "time": _("time")}

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Said(lambda: _("Running on {host}").format(host=self.recipe.target.host), classes="title",
                   id="run-title", markup=False)
        with Horizontal(classes="columns"):
            steps = DataTable(id="steps", cursor_type="none", zebra_stripes=True)
            steps.can_focus = False  # the keys scroll the output, never the table
            yield steps
            yield RunLog(id="log", max_lines=SCROLLBACK, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        names = [step.name for step, _settings in self.recipe.selected()]
        widths = column_widths(names)
        self.step_width = widths[0]
        # each column has one cell of padding on both sides; two more for a scroll bar on a tall recipe
        table.styles.width = sum(widths) + 2 * len(widths) + 2
        for (key, label), width in zip(self._headings().items(), widths, strict=True):
            table.add_column(label, width=width, key=key)
        for name in names:  # by title, wrapped in the column; as tall as either language needs (F2)
            self.states[name] = "pending"
            table.add_row(step_cell(registry.label(name), self.step_width), state_label("pending"), "", key=name,
                          height=row_height(name, self.step_width))
        self.set_interval(0.1, self.flush)  # high-rate output is coalesced into one write per tick
        self.set_interval(1, self.tick)
        self.worker = self.run_worker(self.run_recipe(), exclusive=True)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def flush(self) -> None:
        log = self.query_one("#log", RunLog)
        if self.shown_fold is not None and self.shown_fold.dirty:  # it counted on since it was drawn
            log.replace_last_line(self.shown_fold.line())
        if self.buffer:
            # at most what the log keeps: lines older than that would be written only to be dropped at once
            items, self.buffer = self.buffer[-SCROLLBACK:], []
            log.write_lines([item.line() if isinstance(item, Fold) else item for item in items])
            self.shown_fold = items[-1] if isinstance(items[-1], Fold) else None

    def tick(self) -> None:
        table = self.query_one("#steps", DataTable)
        for step, started in self.started.items():
            table.update_cell(step, "time", f"{time.monotonic() - started:.0f} s")

    def _state(self, step: str, state: str) -> None:
        self.states[step] = state
        self.query_one("#steps", DataTable).update_cell(step, "state", state_label(state))

    def _keep(self, line: str, progress: bool) -> None:
        if len(self.entries) == SCROLLBACK and not self.dropped:
            self.dropped = True  # said once, beside the output (a line in it would cut the fold counting there)
            self.notify(scrollback_notice(), timeout=15)
        self.entries.append((line, progress))

    def _line(self, line: str) -> None:
        self._keep(line, False)
        self.view.append(line)
        self.fold = None
        self.buffer.append(line)

    def _output(self, text: str) -> None:
        """A line a command printed: apt/dpkg progress counts in the open fold (unless F3 shows all)."""
        line = f"  | {text}"
        if not is_progress(text):
            self._line(line)
            return
        self._keep(line, True)
        if self.fold is None:
            self.fold = Fold()
            self.view.append(self.fold)
            if not self.full_output:
                self.buffer.append(self.fold)
        self.fold.add(line)
        if self.full_output:
            self.buffer.append(line)

    def action_toggle_output(self) -> None:
        """F3: every line as it came, or apt/dpkg progress folded again (the open fold counts on in place)."""
        self.full_output = not self.full_output
        self.buffer, self.shown_fold = [], None
        log = self.query_one("#log", RunLog)
        if self.full_output:
            log.show_lines([line for line, _progress in self.entries])
        else:
            log.show_lines([item.line() if isinstance(item, Fold) else item for item in self.view])
            self.shown_fold = self.fold if self.view and self.view[-1] is self.fold else None
        self.relabel()

    def sink(self, event: Event) -> None:  # noqa: C901 - one branch per kind of event
        if isinstance(event, StepStarted):
            self.started[event.step] = time.monotonic()
            self.step_at, self.command = event.step, None
            self._state(event.step, "running")
            self._line(f"== [{event.index + 1}/{event.total}] {registry.label(event.step)}")
        elif isinstance(event, ChangeStarted):
            self.command = event.description
            self._line(f"+ {event.why}")
            self._line(f"  $ {event.description}")
        elif isinstance(event, ChangeDone):
            self.command = None
        elif isinstance(event, OutputLine):
            self._output(event.text)
        elif isinstance(event, Notice):
            self._line(f"  {notice_mark(event.level)} {event.text}")
        elif isinstance(event, StepNoop):
            self._line(f"  = {event.reason}")
        elif isinstance(event, StepFailed):
            self._line(f"  ✗ {event.error}")
        elif isinstance(event, StepFinished):
            self.started.pop(event.step, None)
            self.command = None
            self._state(event.step, event.status)
        elif isinstance(event, RunFinished):
            self._line(n_("{n} change in {s:.1f} s", "{n} changes in {s:.1f} s", event.changes).format(
                n=event.changes, s=event.seconds))

    def in_flight(self) -> tuple[str | None, str | None]:
        """(the step the run is at, the command running on the server now) for the quit dialog."""
        return self.step_at, self.command

    def request_edit(self, step: str, error: str) -> None:
        self.edit_request = (step, error)

    async def stop(self) -> None:
        """Cancel the run and wait (briefly) until its connection and journal are closed."""
        if self.worker is not None and self.worker.is_running:
            self.worker.cancel()
            with suppress(WorkerCancelled, WorkerFailed, TimeoutError):
                await asyncio.wait_for(self.worker.wait(), 10)

    def quit_notice(self) -> str:
        """What the terminal says after quitting mid-run: what may still run there, and how to go on."""
        step, what = self.in_flight()
        if what is not None:
            said = _("The wizard stopped during step {step}. On {host}, this may still be running: {what}").format(
                step=registry.label(step or "-"), host=self.recipe.target.host, what=what)
        else:
            said = in_flight_text(step, what)
        path = self.wizard_app.draft.path or f"{self.recipe.name}.yaml"
        return said + "\n" + _("`deploy-wizard apply {path} --resume` goes on after the steps this run "
                               "completed.").format(path=path)

    async def run_recipe(self) -> None:
        from screens.change_modal import ChangeModal
        from screens.password_modal import ask_secrets
        from wizard.app.session import run_recipe, secret_questions
        from wizard.engine.errors import DeployWizardError

        answers = self.answers
        answers.update(await ask_secrets(self.app, secret_questions(self.recipe), answers))

        async def before_change(step: str, change: Change) -> ChangeDecision:
            return await self.app.push_screen_wait(ChangeModal(step, change))

        error = None
        resolved: list[Recipe] = []
        try:
            self.result = await run_recipe(self.recipe, "apply", self.sink,
                                           questions_for(self.app, answers, edit=self.request_edit),
                                           before_change=before_change if self.step_through else None,
                                           on_resolved=resolved.append)
        except DeployWizardError as exc:
            error = str(exc)
        if self.result is not None and self.result.ok and resolved:
            self.remember_resolved(resolved[0])
        self.step_at = self.command = None
        self.flush()
        if self.edit_request is not None:
            self.app.call_later(self.wizard_app.edit_step, *self.edit_request)
            return
        from screens.summary import SummaryScreen

        self.app.push_screen(SummaryScreen(self.recipe, self.result, error, self.wizard_app.draft.path))

    def remember_resolved(self, resolved: Recipe) -> None:
        """After the first successful run of a recipe with goals, the values they resolved to go into the recipe
        file beside the answers, as `deploy-wizard apply` does (a replay elsewhere keeps them), and into the
        draft, so the wizard and the file agree."""
        from wizard.app.goals import Saved, save_resolved

        draft = self.wizard_app.draft
        goals = getattr(resolved.steps, "goals", None)
        if draft.path is None or getattr(goals, "resolved", None) is None or "resolved" in draft.values("goals"):
            return
        try:
            saved = save_resolved(draft.path, resolved)
        except (OSError, RecipeError) as exc:
            self.notify(_("The values the goals resolved to were not saved in {path}: {why}").format(
                path=draft.path, why=exc), severity="warning")
            return
        if saved is not Saved.NOTHING:
            draft.values("goals")["resolved"] = goals.resolved.model_dump(mode="json")
            self.notify(_("Saved the values the goals resolved to in {path} (goals.resolved).").format(
                path=draft.path))

    def action_noop(self) -> None:
        self.notify(_("The run continues; abort it from the failure dialog, or quit with Ctrl+Q."))
