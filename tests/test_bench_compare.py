"""bench/compare_full.py reads each tool's own report of what it changed, and the floor takes its apt runs from
deploy-wizard's plan: both are parsing that must not silently read 0 (a no-op that changed things would count)."""

from __future__ import annotations

import json

import pytest

from bench import results
from bench.compare_full import rotated, summarise
from bench.floor import apt_runs, floor_script
from bench.stack import ToolFailed, ansible_changes, pyinfra_changes, wizard_changes


def test_deploy_wizard_report_is_its_last_run_finished_event() -> None:
    out = "\n".join(json.dumps(e) for e in ({"event": "step_started", "step": "x"},
                                            {"event": "run_finished", "ok": True, "changes": 3}))
    assert wizard_changes(out) == 3
    with pytest.raises(ToolFailed):
        wizard_changes(json.dumps({"event": "run_finished", "ok": False, "changes": 0}))
    with pytest.raises(ToolFailed):
        wizard_changes("Error: no route to host")


def test_ansible_report_is_the_hosts_recap_line() -> None:
    out = ("PLAY RECAP *****\n10.99.3.2                  : ok=61   changed=2    unreachable=0    failed=0    "
           "skipped=4    rescued=0    ignored=0\n")
    assert ansible_changes(out, "10.99.3.2") == 2
    with pytest.raises(ToolFailed):
        ansible_changes(out, "10.99.4.2")
    with pytest.raises(ToolFailed):
        ansible_changes(out.replace("failed=0", "failed=1"), "10.99.3.2")


def test_pyinfra_report_is_the_grand_total_success_column() -> None:
    table = "--> Results:\n    Operation     Hosts   Success   Error   No Change   \n"
    assert pyinfra_changes(table + "    Grand total   84      -         -       84\n") == 0
    assert pyinfra_changes(table + "    \x1b[1mGrand total\x1b[0m   84      5         -       79\n") == 5
    with pytest.raises(ToolFailed):
        pyinfra_changes(table + "    Grand total   84      5         1       78\n")
    with pytest.raises(ToolFailed):
        pyinfra_changes("--> pyinfra error: connection refused\n")


def _planned(step: str, *shown: str, later: bool = False) -> str:
    return json.dumps({"event": "step_planned", "step": step, "changes": [{"why": "", "do": d} for d in shown],
                       "later": [{"why": "install the package updates", "do": ""}] if later else []})


def test_floor_takes_a_planned_upgrade_where_the_plan_has_it() -> None:
    plan = "\n".join((
        _planned("os_updates", "apt-get update && touch /var/lib/apt/periodic/update-success-stamp   # after waiting",
                 "apt-get -y upgrade   # after waiting for the dpkg lock",
                 "apt-get -y install --no-install-recommends curl git   # after waiting for the dpkg lock"),
        _planned("database", "apt-get -y install --no-install-recommends postgresql   # after waiting")))
    assert apt_runs(plan, "upgrade") == [["update"], ["upgrade"],
                                         ["install", "--no-install-recommends", "curl", "git", "postgresql"]]


def test_floor_takes_the_apt_runs_of_the_plan_in_order_with_the_upgrade_last_in_os_updates() -> None:
    plan = "\n".join((
        _planned("os_updates", "apt-get update && touch /var/lib/apt/periodic/update-success-stamp   # after waiting",
                 "apt-get -y install --no-install-recommends curl git   # after waiting for the dpkg lock",
                 "sh -c 'echo demo > /etc/hostname'", later=True),
        _planned("database", "apt-get -y install postgresql   # after waiting for the dpkg lock",
                 "runuser -u postgres -- createdb demo")))
    runs = apt_runs(plan, "upgrade")
    assert runs == [["update"], ["install", "--no-install-recommends", "curl", "git"], ["upgrade"],
                    ["install", "postgresql"]]
    assert apt_runs(plan, "none")[2] == ["install", "postgresql"]
    script = floor_script(runs)
    assert script.startswith("set -e\n") and script.count("apt-get -y -q -o DPkg::Lock::Timeout") == 4
    assert "Dpkg::Options::=--force-confold" in script and "DEBIAN_FRONTEND=noninteractive" in script
    with pytest.raises(ToolFailed):
        apt_runs(_planned("os_updates", "sh -c true"), "upgrade")


def test_the_floor_installs_the_same_packages_in_the_fewest_runs_one_per_kind() -> None:
    plan = "\n".join((
        _planned("os_updates", "apt-get -y install --no-install-recommends curl git   # after waiting",
                 "apt-get -y install nginx   # after waiting"),
        _planned("monitoring", "apt-get -y install --no-install-recommends prometheus-node-exporter git")))
    assert apt_runs(plan, "none") == [["install", "--no-install-recommends", "curl", "git",
                                       "prometheus-node-exporter"], ["install", "nginx"]]


def _round(n: int, dw: float, peer: float, peer_noop_changes: int = 0) -> dict:
    return {"round": n, "order": [], "end_state": {},
            "first": {"deploy-wizard": {"seconds": dw, "changes": 50}, "pyinfra": {"seconds": peer, "changes": 60}},
            "noop": {"deploy-wizard": {"seconds": 1.0, "changes": 0},
                     "pyinfra": {"seconds": 5.0, "changes": peer_noop_changes}}}


def test_ratios_are_taken_inside_a_round_and_a_noop_with_changes_is_not_counted() -> None:
    record = {"rounds": [_round(1, 40, 60), _round(2, 50, 60), _round(3, 40, 100, peer_noop_changes=2)]}
    summary = summarise(record, ["deploy-wizard", "pyinfra"])
    assert summary["first/pyinfra/ratio"] == {"min": 1.2, "median": 1.5, "max": 2.5, "n": 3}
    assert summary["noop/pyinfra/ratio"]["n"] == 2  # round 3's no-op reported changes
    assert summary["noop/pyinfra/seconds"]["n"] == 2
    assert "1.50 (1.20–2.50) x n=3" in results.table({"summary": summary}, ["deploy-wizard", "pyinfra"],
                                                    "deploy-wizard")


def test_the_order_of_the_tools_rotates_every_round() -> None:
    tools = ["deploy-wizard", "pyinfra", "ansible", "floor"]
    firsts = [rotated(tools, n)[0] for n in range(5)]
    assert firsts == ["deploy-wizard", "pyinfra", "ansible", "floor", "deploy-wizard"]
