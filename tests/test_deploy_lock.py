"""The deploy lock's scripts in a real shell (this machine, through the local transport): one winner among
concurrent acquirers, who holds it, a holder that stops answering lets go on its own, and breaking it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from wizard.app import deploylock
from wizard.app.deploylock import LockHeld, break_lock, deploy_lock, peek
from wizard.engine.errors import ExitCode
from wizard.engine.transports.local import LocalTransport


@pytest.fixture(autouse=True)
def quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(deploylock, "LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(deploylock, "TTL", 3)
    monkeypatch.setattr(deploylock, "HEARTBEAT", 0.5)
    monkeypatch.setenv("DEPLOY_WIZARD_OPERATOR", "alice")
    return tmp_path / "locks"


async def connected() -> LocalTransport:
    transport = LocalTransport()
    await transport.connect()
    return transport


async def test_a_second_run_is_refused_naming_the_holder_and_gets_it_once_released() -> None:
    first, second = await connected(), await connected()
    async with deploy_lock(first, "shop"):
        with pytest.raises(LockHeld) as held:
            async with deploy_lock(second, "shop"):
                pytest.fail("two holders")
        assert held.value.exit_code == ExitCode.BUSY
        assert held.value.holder is not None and held.value.holder.operator == "alice"
        assert "alice on " in str(held.value) and "--lock-wait" in str(held.value)
        async with deploy_lock(second, "other-app"):  # a lock per app
            pass
        await asyncio.sleep(2 * deploylock.TTL)  # the heartbeat keeps it held past its ttl
        assert (await peek(second, "shop")) is not None
    assert await peek(second, "shop") is None
    async with deploy_lock(second, "shop"):
        pass


async def test_twenty_concurrent_acquirers_end_with_exactly_one_winner() -> None:
    transports = [await connected() for _ in range(20)]
    entered = asyncio.Event()
    release = asyncio.Event()

    async def attempt(transport: LocalTransport) -> bool:
        try:
            async with deploy_lock(transport, "shop"):
                entered.set()
                await release.wait()
                return True
        except LockHeld:
            return False

    tasks = [asyncio.create_task(attempt(t)) for t in transports]
    await entered.wait()
    await asyncio.sleep(1)  # every other attempt has been refused by now
    release.set()
    won = await asyncio.gather(*tasks)
    assert sum(won) == 1


async def test_a_holder_that_stops_answering_lets_go_within_its_ttl_and_a_waiter_gets_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = await connected(), await connected()
    monkeypatch.setattr(deploylock, "HEARTBEAT", 3600)  # the holder's controller is gone: no heartbeat
    async with deploy_lock(first, "shop"):
        started = time.monotonic()
        async with deploy_lock(second, "shop", wait=3 * deploylock.TTL):
            waited = time.monotonic() - started
    assert waited < 3 * deploylock.TTL


async def test_breaking_the_lock_frees_it_at_once() -> None:
    first, second = await connected(), await connected()
    async with deploy_lock(first, "shop"):
        holder = await peek(second, "shop")
        assert holder is not None and holder.silent <= 1
        await break_lock(second, "shop")
        async with deploy_lock(second, "shop"):
            pass


async def test_the_lock_of_a_run_of_this_machine_that_is_gone_is_taken_at_once(quick: Path) -> None:
    """A dropped connection ends the run; `apply --resume` from the same machine must not wait for the ttl."""
    import subprocess
    import sys

    script = ("import asyncio, os\n"
              "from wizard.app import deploylock\n"
              "from wizard.engine.transports.local import LocalTransport\n"
              f"deploylock.LOCK_DIR = {str(quick)!r}\n"
              "deploylock.TTL = 60\n"
              "async def main():\n"
              "    t = LocalTransport(); await t.connect()\n"
              "    async with deploylock.deploy_lock(t, 'shop'):\n"
              "        os._exit(0)  # the process dies holding the lock\n"
              "asyncio.run(main())\n")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parent.parent)
    second = await connected()
    assert await peek(second, "shop") is not None  # still held on the server
    async with deploy_lock(second, "shop"):  # with wait=0 and a ttl of 60 s: taken only because it was broken
        pass


async def test_the_next_run_waits_for_what_an_interrupted_run_left_running_and_says_so() -> None:
    """A dropped connection leaves its commands running (a migration, an apt install): the run that takes the lock
    next starts nothing beside them. Here the left-behind command is a real process carrying the old run's tag."""
    import os
    import subprocess

    left = subprocess.Popen(["sleep", "3"], env={**os.environ, "DEPLOY_WIZARD_RUN": "shop.0123456789abcdef"})
    other_app = subprocess.Popen(["sleep", "30"], env={**os.environ, "DEPLOY_WIZARD_RUN": "shopfront.feed"})
    said: list[str] = []
    try:
        async with deploy_lock(await connected(), "shop", say=said.append) as tag:
            assert left.poll() is not None  # it had ended before the block began
        assert tag[0] == "DEPLOY_WIZARD_RUN" and tag[1].startswith("shop.")
        assert len(said) == 1 and f"PID {left.pid} sleep 3" in said[0]
        assert "shopfront" not in said[0]  # another app's commands are not waited for
    finally:
        left.kill()
        other_app.kill()


async def test_a_left_behind_command_that_never_ends_stops_the_run_naming_it() -> None:
    import os
    import subprocess

    stuck = subprocess.Popen(["sleep", "30"], env={**os.environ, "DEPLOY_WIZARD_RUN": "shop.dead"})
    try:
        with pytest.raises(deploylock.DeployWizardError, match=rf"PID {stuck.pid} sleep 30"):
            await deploylock.wait_for_left_behind(await connected(), "shop", lambda text: None, limit=0)
    finally:
        stuck.kill()


async def test_taking_the_lock_and_looking_for_left_behind_commands_is_one_round_trip() -> None:
    """A no-op apply's cost: the lock and the look for an earlier run's commands go in one command, its release in
    another."""
    transport = await connected()
    before = transport.round_trips
    async with deploy_lock(transport, "shop"):
        assert transport.round_trips - before == 1
    assert transport.round_trips - before == 2


class EndsAsCancelled(LocalTransport):
    """Its first heartbeat ends exactly as the run ends: the moment Python 3.11's asyncio.wait_for returns the
    command's result instead of raising the cancellation (a heartbeat that relied on cancel() alone ran on). Any
    later heartbeat is counted and answered; the fourth raises, so a heartbeat that runs on still ends the test."""

    def __init__(self) -> None:
        super().__init__()
        self.beating = asyncio.Event()
        self.answer: asyncio.Future | None = None
        self.beats = 0

    async def run(self, command, **kw):  # noqa: ANN001, ANN003, ANN201
        if "touch" not in command.shell():  # not the heartbeat
            return await super().run(command, **kw)
        self.beats += 1
        if self.beats > 1:
            if self.beats > 3:
                raise RuntimeError("a heartbeat after the run")
            return deploylock.Result(0, "", "")
        self.answer = asyncio.get_running_loop().create_future()
        self.beating.set()
        return await asyncio.wait_for(self.answer, 30)


async def test_the_heartbeat_stops_and_the_lock_is_released_even_when_its_cancel_is_lost() -> None:
    transport = EndsAsCancelled()
    await transport.connect()
    async with deploy_lock(transport, "shop"):
        await transport.beating.wait()
        assert transport.answer is not None
        transport.answer.set_result(deploylock.Result(0, "", ""))  # the heartbeat's answer, as the block ends
    assert transport.beats == 1  # before the fix: the heartbeat ran on after the block (and held the lock)
    assert await peek(transport, "shop") is None
