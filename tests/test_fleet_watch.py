"""bench/fleetwatch.py: a fleet run's hosts followed from the CLI's JSON events as they come, the unfinished ones
said while the run lasts, and the CLI's own CPU read apart from anything else this process runs."""

from __future__ import annotations

import json
import sys

from bench import fleetwatch

# a stand-in CLI: host a starts os_updates, b finishes, then it burns 0.3 s of CPU, waits, and a finishes
CLI = r"""
import json, sys, time
def say(**event): print(json.dumps(event), flush=True)
say(event="step_started", step="os_updates", host="a")
say(event="run_finished", host="b", ok=True)
started = time.process_time()
while time.process_time() - started < 0.3: pass
time.sleep(1.6)
say(event="run_finished", host="a", ok=True)
print("not json")
sys.exit(3)
"""


def test_unfinished_hosts_are_said_while_the_run_lasts_and_its_cpu_is_its_own() -> None:
    said: list[str] = []
    done = fleetwatch.run([sys.executable, "-c", CLI], hosts=["a", "b", "c"], names={}, watch=0.5, timeout=60,
                          say=said.append)
    assert done.returncode == 3
    assert [json.loads(line)["host"] for line in done.stdout.splitlines() if line.startswith("{")] == ["a", "b", "a"]
    assert done.last == {"c": "no event yet"}  # a and b finished; c never said anything
    running = [line for line in said if "still running" in line]
    assert running and "a (step_started os_updates)" in running[0] and "b (" not in running[0]
    assert any("busiest processes" in line for line in said)
    # its own CPU (the burn, plus starting Python), not this process's nor the ps the watch ran
    assert 0.3 <= done.cpu < 5


def test_no_watch_says_nothing() -> None:
    said: list[str] = []
    done = fleetwatch.run([sys.executable, "-c", "print('{}')"], hosts=["a"], names={}, watch=0, timeout=60,
                          say=said.append)
    assert done.returncode == 0 and said == [] and done.last == {"a": "no event yet"}
