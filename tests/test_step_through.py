"""What the runner and the transport say when the operator decides (issue 18, item 4): step-through's Stop is a
decision, not a failure, and Skip leaves out just one change; a failure names the command without its remark; a
cancelled sudo password is said to be cancelled, not refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.test_runner import DirSettings, MakeTree
from tests.test_transport_ssh import Server
from wizard.engine.commands import cmd, noted, without_note
from wizard.engine.events import Event, Notice, StepFailed, StepFinished
from wizard.engine.hostkeys import HostKeyStore
from wizard.engine.runner import ChangeDecision, Runner
from wizard.engine.step import Change, RunCommand, Step, Teaching
from wizard.engine.transports.base import SudoError
from wizard.engine.transports.local import LocalTransport


async def apply(step: Step, settings: DirSettings, decide: list[ChangeDecision | bool]) -> tuple[object, list[Event]]:
    """Apply with step-through answering `decide` in order; a failure would be asked (and is recorded)."""
    events: list[Event] = []
    asked: list[str] = []
    transport = LocalTransport()
    await transport.connect()

    async def before_change(step: str, change: Change) -> ChangeDecision | bool:
        return decide.pop(0)

    async def on_failure(step: str, error: str) -> str:
        asked.append(error)
        return "abort"

    runner = Runner(transport, [(step, settings)], events.append, before_change=before_change,
                    on_failure=on_failure)  # type: ignore[arg-type]
    result = await runner.apply()
    assert asked == [], "a decision of the operator is never offered as a failure"
    return result, events


async def test_skip_leaves_out_just_this_change_and_the_run_goes_on(tmp_path) -> None:
    result, events = await apply(MakeTree(), DirSettings(root=str(tmp_path)), ["run", "skip"])
    assert result.ok and result.changes == 1  # converged without the change left out: not "did not converge"
    assert (tmp_path / "d").is_dir() and not (tmp_path / "d" / "f.txt").exists()
    assert result.declined == ["make_tree: write the file"]
    assert any(isinstance(e, Notice) and e.text.startswith("Left out at your request: write ") for e in events)


@pytest.mark.parametrize("stop", ["stop", False])
async def test_stop_ends_the_run_as_a_decision_not_a_failure(tmp_path, stop: ChangeDecision | bool) -> None:
    result, events = await apply(MakeTree(), DirSettings(root=str(tmp_path)), [stop])
    assert not result.ok and result.error is None and result.failed_step == "make_tree"
    assert result.stopped == f"Stopped at your request before: mkdir -p {tmp_path}/d"
    assert not any(isinstance(e, StepFailed) for e in events)
    assert [e.status for e in events if isinstance(e, StepFinished)] == ["stopped"]
    assert not (tmp_path / "d").exists()


class Remarked(Step):
    """A change shown with a remark after its command, the way apt's carry "after waiting for the dpkg lock"."""

    name = "remarked"
    title = "remarked"
    Settings = DirSettings
    teaching = Teaching(why="test")

    def plan(self, s: DirSettings, facts: object, ctx: object) -> Iterator[Change]:
        yield RunCommand("fail", cmd("false", display=noted("false --now", "after waiting for the dpkg lock")))


async def test_a_failure_names_the_command_without_its_remark(tmp_path) -> None:
    transport = LocalTransport()
    await transport.connect()
    result = await Runner(transport, [(Remarked(), DirSettings(root=str(tmp_path)))], lambda e: None).apply()
    assert result.error is not None and result.error.startswith("'false --now' failed with exit status 1")
    assert "#" not in result.error and "dpkg lock" not in result.error
    assert without_note(noted("apt-get -y install nginx", "a remark")) == "apt-get -y install nginx"


async def test_a_cancelled_sudo_password_is_said_to_be_cancelled(tmp_path) -> None:
    srv = Server(tmp_path, nopasswd=False)
    await srv.start()
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    store.add("127.0.0.1", srv.port, srv.host_key_line)
    asked: list[str] = []

    async def cancel(prompt: str) -> None:
        asked.append(prompt)
        return None

    transport = srv.transport(store, password_callback=cancel)
    await transport.connect()
    with pytest.raises(SudoError) as info:
        await transport.run(cmd("true"))
    await transport.close()
    srv.server.close()
    assert len(asked) == 1  # cancelled: not asked again as if it were wrong
    assert "(cancelled)" in str(info.value) and "refused" not in str(info.value)


class DecidesAfter(Step):
    """What os_updates does on stale lists: refresh them, and decide the updates only once they are fresh."""

    name = "decides_after"
    title = "decides_after"
    Settings = DirSettings
    teaching = Teaching(why="test")

    def facts(self, s: DirSettings, known: object, ctx: object) -> list:
        from wizard.engine.facts import PathInfo

        return [PathInfo(f"{s.root}/lists")]

    def plan(self, s: DirSettings, facts, ctx: object) -> Iterator[Change]:  # noqa: ANN001
        from wizard.engine.facts import PathInfo
        from wizard.engine.step import Later

        if facts[PathInfo(f"{s.root}/lists")] is None:
            yield RunCommand("refresh the lists", cmd("touch", f"{s.root}/lists"))
            yield Later("install the updates", "they are listed once the lists are refreshed")


async def test_a_change_left_out_that_a_later_decision_waits_for_ends_the_step_with_a_note(tmp_path) -> None:
    """Skip the lists' refresh in step-through: what waited for it stays undecided, said as the operator's
    decision; the step does not fail with "cannot decide"."""
    result, events = await apply(DecidesAfter(), DirSettings(root=str(tmp_path)), ["skip"])
    assert result.ok and result.declined == ["decides_after: refresh the lists"]
    assert any(isinstance(e, Notice) and e.text.startswith("Not decided, since you left out refresh the lists: "
                                                           "install the updates (they are listed once") for e in events)
    assert not any(isinstance(e, StepFailed) for e in events)
