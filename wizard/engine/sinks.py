"""Event sinks for runs without the TUI: a readable console log, a JSON stream, and the run journal.

Why the journal is flushed event by event: it is the record of what completed on the server. If the
connection, the laptop or the wizard dies mid-step, the journal still says which steps finished.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wizard.engine.events import (
    ChangeStarted,
    Event,
    Notice,
    NoticeLevel,
    OutputLine,
    Resume,
    RunEnd,
    RunFinished,
    RunStarted,
    StepFailed,
    StepFinished,
    StepNoop,
    StepPlanned,
    StepStarted,
    notice_mark,
)
from wizard.engine.fsutil import private_dir, state_dir
from wizard.engine.i18n import _, n_

# A diff line's style by its first characters (unified diff: headers, hunks, additions, removals).
DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))

Part = str | tuple[str, str]  # plain text, or (text, Rich style)


def COLON() -> str:  # noqa: N802 - reads like the constant it is, in the current language
    """": " between a word and what it introduces; "：" in Chinese."""
    return _(": ", context="before what it introduces")


class ConsoleSink:
    """A line log that reads well in a terminal and in CI logs alike.

    Why Rich writes it: it already decides when colour is welcome (a terminal, no NO_COLOR, not TERM=dumb;
    FORCE_COLOR and TTY_COMPATIBLE honoured), so a pipe or a CI log gets the same words without escape codes.
    Markup, highlighting, emoji codes and wrapping are off: server output and file diffs are printed as they are.
    """

    def __init__(self, out: TextIO | None = None, show_output: bool = True, prefix: str = "", *,
                 console: Console | None = None, table: bool = False,
                 label: Callable[[str], str] | None = None) -> None:
        self.out = out or sys.stdout
        # how a step is named in its heading: the recipe's key here (what --set STEP.FIELD takes); the wizard's
        # review gives the step's title, as its run screen and summary name it
        self.label = label or (lambda step: step)
        self.show_output = show_output
        self.prefix = prefix  # "[host] " when several hosts share the terminal
        self.mode = "apply"
        self.counts: list[tuple[str, int, int]] = []  # (step, concrete changes, decided at run time): plan table
        self.table = table  # the plan's table of counts per step always, not only when some are decided later
        # a console of the caller's (the wizard's review records one and shows it on screen)
        self.console = console or Console(file=self.out, markup=False, highlight=False, emoji=False, soft_wrap=True)

    def _print(self, *parts: Part) -> None:
        self.console.print(Text.assemble(self.prefix, *parts))

    def _diff(self, diff: str) -> None:
        for line in diff.splitlines():
            style = next((style for mark, style in DIFF_STYLES if line.startswith(mark)), "")
            self._print("      ", (line, style))

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.mode = event.mode
            n = len(event.steps)
            template = {"plan": n_("Planning {n} step on {host}", "Planning {n} steps on {host}", n),
                        "apply": n_("Applying {n} step on {host}", "Applying {n} steps on {host}", n),
                        "check": n_("Checking {n} step on {host}", "Checking {n} steps on {host}", n)}[event.mode]
            self._print((template.format(n=n, host=event.host), "bold"))
        elif isinstance(event, StepStarted):
            self._print((f"[{event.index + 1}/{event.total}] {self.label(event.step)}", "bold cyan"))
        elif isinstance(event, StepPlanned):
            self._planned(event)
        elif isinstance(event, ChangeStarted):
            self._print("  ", ("= " + _("check") + COLON(), "green") if event.check else ("+ ", "yellow"), event.why)
            self._print("    ", ("$ " + event.description, "dim"))
        elif isinstance(event, Notice):
            self._notice(event.text, event.level)
        elif isinstance(event, OutputLine):
            if self.show_output and not event.text.startswith("deploy-wizard: "):
                # a progress line redrawn in place (apt's "Reading database ... 5%\r...") as a terminal ends up
                # showing it: its last state, not every state run together in a log
                self._print("    ", ("| " + event.text.rstrip("\r").rsplit("\r", 1)[-1], "dim"))
        elif isinstance(event, StepNoop):
            self._print("  ", ("= " + _("nothing to do") + COLON(), "green"), event.reason)
        elif isinstance(event, StepFailed):
            self._print("  ", (_("FAILED") + COLON(), "bold red"), event.error)
        elif isinstance(event, StepFinished):
            self._step_finished(event)
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _notice(self, text: str, level: NoticeLevel = NoticeLevel.WARNING) -> None:
        """Something to tell the operator: its first line stands out, the rest (a fix) follows indented. `!` marks
        a warning only; a note (progress, where a secret was read from) is marked and coloured apart."""
        first, *rest = text.splitlines() or [""]
        warning = level is NoticeLevel.WARNING
        self._print("  ", (notice_mark(level) + " " + first, "bold magenta" if warning else "cyan"))
        for line in rest:
            self._print("      ", (line, "magenta" if warning else "cyan"))

    def _planned(self, event: StepPlanned) -> None:
        for warning in event.warnings:
            self._notice(warning["text"] + "\n" + warning["fix"])
        for change in event.changes:
            self._print("  ", ("+ ", "yellow"), str(change["why"]))
            self._print("      ", (str(change["do"]), "dim"))
            self._diff(str(change.get("diff") or ""))
        for change in event.later:
            self._print("  ", ("? ", "magenta"), str(change["why"]), (" (" + _("decided at run time: {reason}").format(
                reason=change["do"]) + ")", "magenta"))

    def _step_finished(self, event: StepFinished) -> None:
        self.counts.append((event.step, event.changes, event.later))
        if event.status not in ("changed", "planned"):
            return
        label = (_("changed: {n}") if event.status == "changed" else
                 _("differs: {n}") if self.mode == "check" else _("to change: {n}"))
        counts = label.format(n=event.changes)
        if event.later:
            counts = _("{changes}, decided at run time: {n}").format(changes=counts, n=event.later)
        self._print("  ", (counts, "yellow"), _(" ({seconds:.1f} s)").format(seconds=event.seconds))

    def _plan_table(self) -> None:
        """Per step, what the plan knows for sure against what only the run can decide (a fresh server)."""
        table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
        table.add_column(_("step"))
        table.add_column(_("planned"), justify="right")
        table.add_column(_("decided at run time"), justify="right")
        for step, changes, later in self.counts:
            table.add_row(step, str(changes), str(later) if later else "-")
        self.console.print(table)

    def _run_finished(self, event: RunFinished) -> None:
        if self.mode == "plan" and (event.later or self.table):
            self._plan_table()
        # "OK" said of a plan or a check is "fine", not the "succeeded" of a run: a word per context
        ok = {"plan": _("OK", context="plan"), "check": _("OK", context="check")}.get(self.mode) or _("OK")
        status = ((_("FAILED"), "bold red") if not event.ok else
                  (_("DRIFT"), "bold yellow") if self.mode == "check" and event.changes else (ok, "bold green"))
        # the status word is styled inside a translated sentence: format the text on either side of it
        before, _status, after = n_("{status}: {n} change ({steps}), {seconds} s, {sent}",
                                    "{status}: {n} changes ({steps}), {seconds} s, {sent}",
                                    event.changes).partition("{status}")
        sent = sent_words(event.commands, event.round_trips)
        values = {"n": event.changes, "steps": ", ".join(event.changed_steps) or "-",
                  "seconds": f"{event.seconds:.1f}", "sent": sent}
        self._print(before.format(**values), status, after.format(**values))
        if event.failed_step:
            self._print(("  " + _("stopped at the step {step}: its error is above").format(step=event.failed_step),
                         "bold red"))
        if event.later:
            self._print(("  " + n_("and {n} change decided at run time (marked ?)",
                                    "and {n} changes decided at run time (marked ?)", event.later).format(
                n=event.later), "magenta"))


def sent_words(commands: int, round_trips: int) -> str:
    """"12 remote commands in 3 round trips": what a run asked of the server, and how many times it waited for
    an answer (a gather of facts asks many questions in one round trip), each with its own plural. A record
    without the count of commands (a journal written before it was counted) says the round trips alone."""
    trips = n_("{n} round trip", "{n} round trips", round_trips).format(n=round_trips)
    if not commands:
        return trips
    return _("{commands} in {round_trips}").format(
        commands=n_("{n} remote command", "{n} remote commands", commands).format(n=commands),
        round_trips=trips)


class JsonSink:
    """One JSON object per event on stdout: for CI and other programs."""

    def __init__(self, out: TextIO | None = None, host: str | None = None) -> None:
        self.out = out or sys.stdout
        self.host = host

    def __call__(self, event: Event) -> None:
        data = event.to_dict()
        if self.host:
            data["host"] = self.host
        print(json.dumps(data, ensure_ascii=False), file=self.out, flush=True)


class JournalSink:
    """The run journal: JSONL, one event per line, on disk as it happens."""

    def __init__(self, recipe_name: str, host: str, directory: Path | None = None) -> None:
        directory = private_dir(directory or state_dir() / "journal", None if directory else state_dir())
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
        self.path = directory / f"{stamp}-{journal_name(recipe_name, host)}.jsonl"
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the run
        os.chmod(self.path, 0o600)

    def __call__(self, event: Event) -> None:
        data = event.to_dict()
        self._file.write(json.dumps(data, ensure_ascii=False) + "\n")
        self._file.flush()
        if not isinstance(event, OutputLine):  # fsync on milestones, not on every apt line
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def journal_name(recipe_name: str, host: str) -> str:
    return f"{recipe_name}-" + "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in host)


def unfinished_run(recipe_name: str, host: str, directory: Path | None = None) -> Resume | None:
    """The newest apply of this recipe on this host, if it did not finish well, with its completed steps and how it
    ended (None: it was cut off, its journal has no last record).

    A journal line is only written once the step it reports has finished, so "completed" is never a guess. The
    first record that matters is the run's start: anything said before it (which secrets were read) is not the run.
    """
    directory = directory or state_dir() / "journal"
    runs = sorted(directory.glob(f"*-{journal_name(recipe_name, host)}.jsonl"))
    for path in reversed(runs):
        try:
            entries = read_journal(path)
        except (OSError, ValueError):
            continue
        start = next((e for e in entries if e.get("event") == "run_started"), None)
        if start is None or start.get("mode") != "apply":
            continue
        last = next((e for e in reversed(entries) if e.get("event") == "run_finished"), None)
        if last is not None and last.get("ok"):
            return None  # the last apply finished: nothing to resume
        done = frozenset(str(e["step"]) for e in entries
                         if e["event"] == "step_finished" and e.get("status") in ("ok", "changed"))
        if last is None:
            return Resume(str(path), done)
        failed = last.get("failed_step")
        return Resume(str(path), done, _run_end(last.get("end")), str(failed) if failed else None)
    return None


def _run_end(value: object) -> RunEnd:
    """How a journal's last record says the run ended; a journal from before `end` was recorded: it failed."""
    try:
        return RunEnd(str(value))
    except ValueError:
        return RunEnd.FAILED


def read_journal(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
