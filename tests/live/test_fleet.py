"""Issue 5, live: one recipe on several sandbox servers at once, per-host results, failures kept apart."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ROOT
from tests.live.conftest import cli
from wizard.lab import sandbox

EXAMPLE = str(ROOT / "examples" / "sandbox.yaml")


@pytest.fixture(scope="module")
def more_boxes(box, live_dirs):
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(live_dirs / "config")
    boxes = []
    try:
        for _ in range(2):
            boxes.append(sandbox.up(progress=lambda m: None))
    finally:
        os.environ.pop("XDG_CONFIG_HOME") if old is None else os.environ.__setitem__("XDG_CONFIG_HOME", old)
    yield [box, *boxes]
    for extra in boxes:
        sandbox.down(extra.name, progress=lambda m: None)


def host_results(result) -> dict[str, dict]:
    return {e["host"]: e for e in map(json.loads, result.stdout.splitlines()) if e.get("event") == "host_result"}


def test_three_hosts_in_parallel_then_no_drift(more_boxes, live_dirs) -> None:
    args = [arg for b in more_boxes for arg in ("--host", b.ip)]
    first = cli(live_dirs, "apply", EXAMPLE, "--yes", "--json", "--parallel", "3", *args)
    results = host_results(first)
    assert first.returncode == 0, first.stdout[-3000:]
    assert {h: r["status"] for h, r in results.items()} == {b.ip: "ok" for b in more_boxes}
    assert all(r["changes"] > 0 for r in results.values())
    events = [json.loads(line) for line in first.stdout.splitlines()]
    assert {e.get("host") for e in events if e["event"] == "run_finished"} == {b.ip for b in more_boxes}
    inventory = live_dirs / "inventory.yaml"
    inventory.write_text("hosts:\n" + "".join(f"  - {b.ip}\n" for b in more_boxes))
    check = cli(live_dirs, "check", EXAMPLE, "--json", "--inventory", str(inventory))
    assert check.returncode == 0 and all(r["changes"] == 0 for r in host_results(check).values())


def test_a_failing_host_does_not_stop_the_others_unless_fail_fast(more_boxes, live_dirs) -> None:
    a, b = more_boxes[0].ip, more_boxes[1].ip
    dead = "127.0.0.1"  # nothing answers SSH there: a host that fails at once
    both = cli(live_dirs, "plan", EXAMPLE, "--json", "--parallel", "1", "--host", a, "--host", dead, "--host", b)
    results = host_results(both)
    assert both.returncode == 1
    assert (results[a]["status"], results[dead]["status"], results[b]["status"]) == ("ok", "failed", "ok")
    assert "cannot connect" in results[dead]["error"]
    fast = cli(live_dirs, "plan", EXAMPLE, "--json", "--parallel", "1", "--fail-fast", "--host", a, "--host", dead,
               "--host", b)
    results = host_results(fast)
    assert (results[a]["status"], results[dead]["status"], results[b]["status"]) == ("ok", "failed", "not started")


def test_bad_inventory_is_bad_input(live_dirs, tmp_path) -> None:
    bad = tmp_path / "inv.yaml"
    bad.write_text("hosts:\n  - 'evil; rm -rf /'\n")
    result = cli(live_dirs, "plan", EXAMPLE, "--inventory", str(bad))
    assert result.returncode == 2 and "hosts[0]" in result.stderr


def test_a_failing_batch_leaves_the_hosts_after_it_alone_and_names_a_retry(more_boxes, live_dirs) -> None:
    a, b = more_boxes[0].ip, more_boxes[1].ip
    dead = "127.0.0.1"
    rolled = cli(live_dirs, "plan", EXAMPLE, "--json", "--batch", "1", "--host", a, "--host", dead, "--host", b)
    results = host_results(rolled)
    assert rolled.returncode == 1
    assert (results[a]["status"], results[dead]["status"], results[b]["status"]) == ("ok", "failed", "not started")
    events = [json.loads(line) for line in rolled.stdout.splitlines()]
    assert [e["batch"] for e in events if e["event"] == "batch_started"] == [1, 2]  # batch 3 never started
    assert not any(e.get("host") == b for e in events if e["event"] == "run_started")
    retry = next(e for e in events if e["event"] == "retry")
    again = cli(live_dirs, *retry["command"][1:], "--json")
    assert set(host_results(again)) == {dead, b}  # only the failed and the unstarted hosts
