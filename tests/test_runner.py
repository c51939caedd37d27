"""The runner on a real shell: plan writes nothing, apply converges, the second apply changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

from pydantic import Field

from tests.standins import StandIn, local_runner, run_steps
from wizard.engine.commands import Secret, cmd
from wizard.engine.events import ChangeDone, ChangeStarted, Event, Notice, OutputLine, RunFinished, StepFailed, StepNoop
from wizard.engine.facts import FactValues, FileInfo, PathInfo
from wizard.engine.sinks import JournalSink, read_journal
from wizard.engine.step import Change, Ok, RunCommand, StepSettings, file_change
from wizard.engine.transports.local import LocalTransport


class DirSettings(StepSettings):
    root: str
    text: str = "hello"


class MakeTree(StandIn):
    """A directory and a file in it: two dependent changes, like most real steps."""

    name = "make_tree"
    Settings = DirSettings

    def facts(self, s, known, ctx):
        return [PathInfo(s.root + "/d"), FileInfo(s.root + "/d/f.txt")]

    def plan(self, s, facts: FactValues, ctx) -> Iterator[Change | Ok]:
        if facts[PathInfo(s.root + "/d")] is None:
            yield RunCommand("make the directory", cmd("mkdir", "-p", s.root + "/d"))
        else:
            yield Ok("directory exists")
        path = s.root + "/d/f.txt"
        yield from file_change("write the file", path, s.text + "\n", facts[FileInfo(path)], mode="0640")


class NeverDone(StandIn):
    name = "never_done"
    Settings = DirSettings

    def plan(self, s, facts, ctx):
        yield RunCommand("always wants to run", cmd("true"))


class Leaky(StandIn):
    name = "leaky"
    Settings = DirSettings
    secret = Secret("token", "tok-9f8e7d")

    def facts(self, s, known, ctx):
        return [FileInfo(s.root + "/leaky-done")]

    def plan(self, s, facts, ctx):
        if facts[FileInfo(s.root + "/leaky-done")] is None:
            yield RunCommand("echo a secret and a notice", cmd(
                "sh", "-c", 'echo "deploy-wizard: waiting for something"; echo "token is $1"; echo "oops $1" >&2; '
                'touch "$2"; exit "$3"', "sh", self.secret, s.root + "/leaky-done", s.text))


class FailSettings(StepSettings):
    code: int = Field(3)


async def run(steps, mode="apply", sinks=()) -> tuple[object, list[Event], LocalTransport]:
    return await run_steps(steps, mode, sinks)


async def test_plan_writes_nothing_then_apply_then_second_apply_is_a_noop(tmp_path) -> None:
    steps = [(MakeTree(), DirSettings(root=str(tmp_path)))]
    planned, _, _ = await run(steps, "plan")
    assert planned.ok and planned.changes == 2
    assert [c.why for c in planned.plans[0].changes] == ["make the directory", "write the file"]
    assert list(tmp_path.iterdir()) == []  # a dry run wrote nothing
    applied, events, _ = await run(steps)
    assert applied.ok and applied.changes == 2
    assert (tmp_path / "d/f.txt").read_text() == "hello\n"
    assert oct((tmp_path / "d/f.txt").stat().st_mode & 0o777) == "0o640"
    again, events, _ = await run(steps)
    assert again.ok and again.changes == 0
    assert any(isinstance(e, StepNoop) and "up to date" in e.reason for e in events)


async def test_changed_setting_changes_only_the_file(tmp_path) -> None:
    await run([(MakeTree(), DirSettings(root=str(tmp_path)))])
    result, events, _ = await run([(MakeTree(), DirSettings(root=str(tmp_path), text="bye"))])
    assert result.changes == 1
    assert [e.why for e in events if isinstance(e, ChangeStarted)] == ["write the file"]
    assert (tmp_path / "d/f.txt").read_text() == "bye\n"


async def test_put_keeps_a_backup_of_the_replaced_file(tmp_path) -> None:
    await run([(MakeTree(), DirSettings(root=str(tmp_path)))])
    await run([(MakeTree(), DirSettings(root=str(tmp_path), text="second"))])
    backup = "/var/backups/deploy-wizard/" + str(tmp_path / "d/f.txt").strip("/").replace("/", "%") + ".bak"
    with open(backup) as handle:
        assert handle.read() == "hello\n"


async def test_a_step_that_never_converges_fails_instead_of_looping(tmp_path) -> None:
    result, events, _ = await run([(NeverDone(), DirSettings(root=str(tmp_path)))])
    assert not result.ok and result.failed_step == "never_done"
    assert "did not converge" in result.error


async def test_failure_stops_the_run_and_reports_output_masked(tmp_path) -> None:
    steps = [(Leaky(), DirSettings(root=str(tmp_path), text="4")), (MakeTree(), DirSettings(root=str(tmp_path)))]
    journal = JournalSink("t", "local", directory=tmp_path / "journal")
    result, events, _ = await run(steps, sinks=[journal])
    journal.close()
    assert not result.ok and result.failed_step == "leaky"
    assert "exit status 4" in result.error
    assert not (tmp_path / "d").exists()  # the run stopped before the next step
    failed = [e for e in events if isinstance(e, StepFailed)]
    assert failed and "tok-9f8e7d" not in failed[0].error and "***" in failed[0].error
    lines = [e.text for e in events if isinstance(e, OutputLine)]
    assert "token is ***" in lines and "oops ***" in lines
    assert [e.text for e in events if isinstance(e, Notice)] == ["waiting for something"]
    raw = journal.path.read_text()
    assert "tok-9f8e7d" not in raw
    kinds = [entry["event"] for entry in read_journal(journal.path)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and "step_failed" in kinds


async def test_journal_records_every_step(tmp_path) -> None:
    journal = JournalSink("t", "local", directory=tmp_path / "journal")
    steps = [(MakeTree(), DirSettings(root=str(tmp_path))), (Leaky(), DirSettings(root=str(tmp_path), text="0"))]
    result, _, _ = await run(steps, sinks=[journal])
    journal.close()
    assert result.ok
    entries = read_journal(journal.path)
    finished = [(e["step"], e["status"]) for e in entries if e["event"] == "step_finished"]
    assert finished == [("make_tree", "changed"), ("leaky", "changed")]
    assert json.dumps(entries)  # plain JSON all the way


async def test_run_finished_counts_round_trips(tmp_path) -> None:
    result, events, transport = await run([(MakeTree(), DirSettings(root=str(tmp_path)))], "plan")
    finished = [e for e in events if isinstance(e, RunFinished)][0]
    assert finished.round_trips == transport.round_trips == 2  # connect probe + one fact gather


class CheckedWrite(StandIn):
    name = "checked_write"
    Settings = DirSettings

    def facts(self, s, known, ctx):
        return [FileInfo(s.root + "/site.conf")]

    def plan(self, s, facts, ctx):
        path = s.root + "/site.conf"
        yield from file_change("write a checked config", path, s.text + "\n", facts[FileInfo(path)],
                               check=cmd("sh", "-c", 'grep -q "^good" "$1"', "sh", path))


def checked(step_text: str, root: str):
    return [(CheckedWrite(), DirSettings(root=root, text=step_text))]


async def test_failed_check_puts_the_previous_file_back(tmp_path) -> None:
    ok, _, _ = await run(checked("good config", str(tmp_path)))
    assert ok.ok and (tmp_path / "site.conf").read_text() == "good config\n"
    bad, events, _ = await run(checked("broken config", str(tmp_path)))
    assert not bad.ok and "put back" in " ".join(e.text for e in events if isinstance(e, OutputLine))
    assert (tmp_path / "site.conf").read_text() == "good config\n"


async def test_failed_check_on_a_new_file_removes_it(tmp_path) -> None:
    bad, _, _ = await run(checked("broken config", str(tmp_path)))
    assert not bad.ok
    assert not (tmp_path / "site.conf").exists()


class NeedsOperator(StandIn):
    """Waits for a person until a marker file exists (as the code step waits for a deploy key)."""

    name = "needs_operator"
    Settings = DirSettings

    def facts(self, s, known, ctx):
        return [FileInfo(s.root + "/key-added")]

    def plan(self, s, facts, ctx):
        from wizard.engine.step import WaitForOperator

        if facts[FileInfo(s.root + "/key-added")] is None:
            yield WaitForOperator("the key is not there", "Add the key, please")


async def test_operator_pause_continues_when_the_operator_confirms(tmp_path) -> None:
    asked: list[tuple[str, str]] = []

    async def operator(step: str, message: str) -> bool:
        asked.append((step, message))
        (tmp_path / "key-added").write_text("done")  # the person did it
        return True

    runner = await local_runner([(NeedsOperator(), DirSettings(root=str(tmp_path)))], [], ask_operator=operator)
    result = await runner.apply()
    assert result.ok and asked == [("needs_operator", "Add the key, please")]


async def test_operator_pause_without_a_person_fails_with_the_message(tmp_path) -> None:
    result, _, _ = await run([(NeedsOperator(), DirSettings(root=str(tmp_path)))])
    assert not result.ok and "Add the key, please" in result.error and "run apply again" in result.error


class ShowsItsTag(StandIn):
    name = "shows_tag"
    Settings = DirSettings

    def facts(self, s, known, ctx):
        return [FileInfo(s.root + "/tag")]

    def plan(self, s, facts, ctx):
        if facts[FileInfo(s.root + "/tag")] is None:
            yield RunCommand("write what the command carries", cmd("sh", "-c", 'echo "$DEPLOY_WIZARD_RUN" > "$1"',
                                                                   "sh", s.root + "/tag"))


async def test_every_change_command_carries_the_runs_tag(tmp_path) -> None:
    """What the deploy lock's next holder looks for on the server (wizard.app.deploylock.wait_for_left_behind)."""
    runner = await local_runner([(ShowsItsTag(), DirSettings(root=str(tmp_path)))], [])
    runner.command_env = (("DEPLOY_WIZARD_RUN", "shop.abc123"),)
    assert (await runner.apply()).ok
    assert (tmp_path / "tag").read_text() == "shop.abc123\n"


class Sleeper(StandIn):
    """A change that takes a known least time: what its ChangeDone must record."""

    name = "sleeper"
    Settings = DirSettings

    def facts(self, s, known, ctx):
        return [FileInfo(s.root + "/slept")]

    def plan(self, s, facts, ctx):
        if facts[FileInfo(s.root + "/slept")] is None:
            yield RunCommand("sleep a little", cmd("sh", "-c", 'sleep 0.3; touch "$1"', "sh", s.root + "/slept"))


async def test_each_change_records_how_long_it_ran(tmp_path) -> None:
    """bench/first_apply.py adds the changes' durations up by step and kind: each ChangeDone carries its own."""
    _, events, _ = await run([(Sleeper(), DirSettings(root=str(tmp_path)))])
    done = [e for e in events if isinstance(e, ChangeDone)]
    assert len(done) == 1 and done[0].seconds >= 0.3
    assert json.loads(json.dumps(done[0].to_dict()))["seconds"] == done[0].seconds
