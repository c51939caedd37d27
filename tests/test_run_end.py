"""A run that stops early still writes its last journal record (how it ended), so `--resume` tells it from a run
that was cut off; and `--resume` says which of the two it goes on from."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.test_runner import DirSettings, MakeTree
from wizard.engine.commands import cmd
from wizard.engine.events import ChangeStarted, Event, Resume, RunEnd, StepNoop
from wizard.engine.runner import Runner
from wizard.engine.secrets import SecretError
from wizard.engine.sinks import JournalSink, read_journal, unfinished_run
from wizard.engine.step import RunCommand, Step, Teaching
from wizard.engine.transports.local import LocalTransport


class Sleeps(Step):
    name = "sleeps"
    title = "sleeps"
    Settings = DirSettings
    teaching = Teaching(why="test")

    def plan(self, s, facts, ctx):
        yield RunCommand("wait a long time", cmd("sleep", "3600"))


class Local(LocalTransport):
    """This machine, except that `sleep` waits here (a cancelled wait leaves no process behind)."""

    async def _exec(self, command_line, stdin, on_output, timeout):
        if "sleep" in command_line:
            await asyncio.sleep(3600)
        return await super()._exec(command_line, stdin, on_output, timeout)


class BadSecret(Step):
    """A step whose plan meets a secret it cannot read: an error that is not a step's failure."""

    name = "bad_secret"
    title = "bad secret"
    Settings = DirSettings
    teaching = Teaching(why="test")

    def plan(self, s, facts, ctx):
        raise SecretError("bad_secret.password: environment variable NOPE is not set")
        yield  # pragma: no cover


async def _runner(tmp_path: Path, steps, events: list[Event],
                  resume: Resume | None = None) -> tuple[Runner, JournalSink]:
    journal = JournalSink("shop", "web1", directory=tmp_path / "journal")
    transport = Local()
    await transport.connect()

    def emit(event: Event) -> None:
        events.append(event)
        journal(event)

    return Runner(transport, steps, emit, journal=str(journal.path), resume=resume), journal


def _last(journal: JournalSink) -> dict[str, object]:
    return read_journal(journal.path)[-1]


async def test_a_cancelled_run_ends_its_journal_with_how_it_ended(tmp_path: Path) -> None:
    events: list[Event] = []
    steps = [(MakeTree(), DirSettings(root=str(tmp_path))), (Sleeps(), DirSettings(root=str(tmp_path)))]
    runner, journal = await _runner(tmp_path, steps, events)
    task = asyncio.create_task(runner.apply())
    while not any(isinstance(e, ChangeStarted) and e.step == "sleeps" for e in events):
        await asyncio.sleep(0.02)
    task.cancel()  # what Ctrl-C does to asyncio.run's main task
    with pytest.raises(asyncio.CancelledError):
        await task
    journal.close()
    entries = read_journal(journal.path)
    assert [(e["step"], e["status"]) for e in entries if e["event"] == "step_finished"] == [
        ("make_tree", "changed"), ("sleeps", "failed")]
    assert _last(journal) | {"ts": 0, "seconds": 0, "round_trips": 0, "commands": 0} == {
        "ts": 0, "event": "run_finished", "ok": False, "changes": 2, "changed_steps": ["make_tree"], "seconds": 0,
        "round_trips": 0, "commands": 0, "journal": str(journal.path), "later": 0, "failed_step": "sleeps",
        "end": "cancelled"}
    resume = unfinished_run("shop", "web1", tmp_path / "journal")
    assert resume == Resume(str(journal.path), frozenset({"make_tree"}), RunEnd.CANCELLED, "sleeps")


async def test_an_error_that_is_not_a_steps_ends_the_journal_too(tmp_path: Path) -> None:
    events: list[Event] = []
    steps = [(MakeTree(), DirSettings(root=str(tmp_path))), (BadSecret(), DirSettings(root=str(tmp_path)))]
    runner, journal = await _runner(tmp_path, steps, events)
    with pytest.raises(SecretError):
        await runner.apply()
    journal.close()
    last = _last(journal)
    assert (last["event"], last["ok"], last["end"], last["failed_step"]) == ("run_finished", False, "error",
                                                                           "bad_secret")
    failed = [e for e in read_journal(journal.path) if e["event"] == "step_failed"]
    assert failed[0]["error"] == "bad_secret.password: environment variable NOPE is not set"


async def test_a_failed_step_ends_as_failed_and_a_good_run_as_done(tmp_path: Path) -> None:
    (tmp_path / "d").write_text("a file where the directory goes")
    runner, journal = await _runner(tmp_path, [(MakeTree(), DirSettings(root=str(tmp_path)))], [])
    result = await runner.apply()
    journal.close()
    assert not result.ok and result.end is RunEnd.FAILED and _last(journal)["end"] == "failed"
    (tmp_path / "d").unlink()
    runner, journal = await _runner(tmp_path, [(MakeTree(), DirSettings(root=str(tmp_path)))], [])
    assert (await runner.apply()).ok
    journal.close()
    assert _last(journal)["end"] == "done"
    assert unfinished_run("shop", "web1", tmp_path / "journal") is None


def _journal(directory: Path, name: str, *entries: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-shop-web1.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


START = {"event": "run_started", "host": "web1", "mode": "apply", "steps": ["make_tree", "sleeps"]}
TREE_DONE = {"event": "step_finished", "step": "make_tree", "status": "changed"}


def test_a_journal_without_its_last_record_was_cut_off(tmp_path: Path) -> None:
    notice = {"event": "notice", "step": "database", "text": "secret database.password: read from ..."}
    path = _journal(tmp_path, "20250101-000000", notice, START, TREE_DONE)  # secrets are read before the start
    assert unfinished_run("shop", "web1", tmp_path) == Resume(str(path), frozenset({"make_tree"}))


def test_an_older_journal_without_end_reads_as_failed(tmp_path: Path) -> None:
    finished = {"event": "run_finished", "ok": False, "failed_step": "sleeps"}
    path = _journal(tmp_path, "20250101-000000", START, TREE_DONE, finished)
    assert unfinished_run("shop", "web1", tmp_path) == Resume(str(path), frozenset({"make_tree"}), RunEnd.FAILED,
                                                               "sleeps")


@pytest.mark.parametrize(("resume", "said"), [
    (Resume("j.jsonl", frozenset({"make_tree"})), "completed in the interrupted run (j.jsonl)"),
    (Resume("j.jsonl", frozenset({"make_tree"}), RunEnd.CANCELLED, "sleeps"),
     "completed in the run that stopped at sleeps (j.jsonl)"),
])
async def test_resume_skips_the_completed_steps_and_says_how_that_run_ended(tmp_path: Path, resume: Resume,
                                                                            said: str) -> None:
    events: list[Event] = []
    runner, journal = await _runner(tmp_path, [(MakeTree(), DirSettings(root=str(tmp_path)))], events, resume)
    result = await runner.apply()
    journal.close()
    assert result.ok and result.changes == 0
    assert not (tmp_path / "d").exists()  # not run again
    assert [e.reason for e in events if isinstance(e, StepNoop)] == [said]
