"""The foundation, live: apply the example recipe to a fresh server, then prove the second apply is a no-op."""

from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.live.conftest import cli, events, finished, on_box, write_recipe
from wizard.engine.sinks import read_journal

EXAMPLE = str(ROOT / "examples" / "sandbox.yaml")


def test_apply_then_reapply_reports_zero_changes(box, live_dirs) -> None:
    first = cli(live_dirs, "apply", EXAMPLE, "--host", box.ip, "--yes", "--json")
    summary = finished(first)
    assert first.returncode == 0 and summary["ok"], first.stderr[-3000:]
    assert summary["changes"] > 0 and set(summary["changed_steps"]) == {"os_updates", "deploy_user"}

    # what the recipe asked for is really there
    state = on_box(box, "hostname; readlink /etc/localtime; id -nG deploy; stat -c '%a %U' "
                        "/home/deploy/.ssh/authorized_keys; cat /etc/apt/apt.conf.d/20auto-upgrades; "
                        "dpkg-query -W -f '${Status}\\n' unattended-upgrades git; apt-get -s upgrade | grep -c ^Inst")
    lines = state.stdout.splitlines()
    assert lines[0] == "demo.example.test"
    assert lines[1].endswith("zoneinfo/Asia/Shanghai")
    assert lines[2] == "deploy"
    assert lines[3] == "600 deploy"
    assert 'APT::Periodic::Unattended-Upgrade "1";' in state.stdout
    assert state.stdout.count("install ok installed") == 2
    assert lines[-1] == "0"  # nothing left to upgrade

    second = cli(live_dirs, "apply", EXAMPLE, "--host", box.ip, "--yes", "--json")
    again = finished(second)
    assert second.returncode == 0 and again["ok"]
    assert again["changes"] == 0 and again["changed_steps"] == []
    statuses = {e["step"]: e["status"] for e in events(second) if e["event"] == "step_finished"}
    assert statuses == {"os_updates": "ok", "deploy_user": "ok"}
    noops = [e for e in events(second) if e["event"] == "step_noop"]
    assert len(noops) == 2 and all(e["reason"] for e in noops)

    plan = cli(live_dirs, "plan", EXAMPLE, "--host", box.ip, "--json")
    assert plan.returncode == 0 and finished(plan)["changes"] == 0

    # the journal of the first run holds every step, start to finish
    journal = read_journal(summary["journal"])
    done = [(e["step"], e["status"]) for e in journal if e["event"] == "step_finished"]
    assert done == [("os_updates", "changed"), ("deploy_user", "changed")]
    assert journal[0]["event"] == "run_started" and journal[-1]["event"] == "run_finished"
    assert any(e["event"] == "output" for e in journal)

    # a changed setting changes only what it must
    changed = (live_dirs / "changed.yaml")
    changed.write_text(open(EXAMPLE).read().replace("timezone: Asia/Shanghai", "timezone: Europe/Berlin"))
    third = cli(live_dirs, "apply", str(changed), "--host", box.ip, "--yes", "--json")
    result = finished(third)
    # the time zone, and this app's record of the server-wide settings it wants (what another app checks)
    assert result["changes"] == 2 and result["changed_steps"] == ["os_updates"]
    ran = [e["description"] for e in events(third) if e["event"] == "change_started"]
    assert ran[0].startswith("write /etc/deploy-wizard/claims/os_updates/") and ran[1].endswith("Europe/Berlin")


def test_sudo_with_password_user(box, live_dirs) -> None:
    recipe = write_recipe(live_dirs / "ops.yaml", box, "  deploy_user:\n    name: opsapp\n", user="ops",
                          extra_target="  sudo_password: env:OPS_SUDO_PASSWORD\n")
    wrong = cli(live_dirs, "apply", str(recipe), "--yes", env={"OPS_SUDO_PASSWORD": "not-the-password"})
    assert wrong.returncode == 1 and "refused the password" in wrong.stdout + wrong.stderr
    assert "not-the-password" not in wrong.stdout + wrong.stderr
    from wizard.lab.sandbox import OPS_PASSWORD

    ok = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env={"OPS_SUDO_PASSWORD": OPS_PASSWORD})
    assert ok.returncode == 0, ok.stderr
    assert finished(ok)["changes"] == 1
    assert OPS_PASSWORD not in ok.stdout + ok.stderr
    journal = open(finished(ok)["journal"]).read()
    assert OPS_PASSWORD not in journal
    assert on_box(box, "id -u opsapp").returncode == 0
    missing = cli(live_dirs, "apply", str(recipe), "--yes")
    assert missing.returncode == 2 and "OPS_SUDO_PASSWORD" in missing.stderr


def test_dpkg_lock_is_waited_for_with_a_visible_message(box, live_dirs) -> None:
    hold = ("nohup python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
            "fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(6)' >/dev/null 2>&1 & sleep 0.5; echo held")
    assert on_box(box, hold).stdout.strip() == "held"
    recipe = write_recipe(live_dirs / "lock.yaml", box,
                          "  os_updates:\n    lists_max_age: 86400\n    upgrade: none\n    packages: [tree]\n")
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert result.returncode == 0, result.stdout[-2000:]
    notices = [e["text"] for e in events(result) if e["event"] == "notice"]
    assert notices and "waiting for the package manager lock, held by python3" in notices[0]
    assert on_box(box, "dpkg-query -W -f '${Status}' tree").stdout == "install ok installed"


def test_host_keys_unknown_pinned_and_wrong(box, live_dirs) -> None:
    fresh = live_dirs / "fresh-config"
    recipe = write_recipe(live_dirs / "hk.yaml", box, "  deploy_user:\n    name: deploy\n")
    unknown = cli(live_dirs, "plan", str(recipe), config=fresh)
    assert unknown.returncode == 1 and box.fingerprint in unknown.stderr and "not a known host" in unknown.stderr
    pinned = write_recipe(live_dirs / "pinned.yaml", box, "  deploy_user:\n    name: deploy\n",
                          extra_target=f"  host_key: {box.fingerprint}\n")
    assert cli(live_dirs, "plan", str(pinned), config=fresh).returncode == 0
    wrong = write_recipe(live_dirs / "wrong.yaml", box, "  deploy_user:\n    name: deploy\n",
                         extra_target="  host_key: SHA256:" + "x" * 43 + "\n")
    bad = cli(live_dirs, "plan", str(wrong), config=fresh)
    assert bad.returncode == 1 and "pins" in bad.stderr
    accepted = cli(live_dirs, "plan", str(recipe), "--accept-new-host-key", config=fresh)
    assert accepted.returncode == 0
    assert box.ip in (fresh / "deploy-wizard" / "known_hosts").read_text()


def test_sandbox_status_lists_the_running_box(box, live_dirs) -> None:
    result = cli(live_dirs, "sandbox", "status", "--json")
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed[box.name]["running"] is True and listed[box.name]["fingerprint"] == box.fingerprint
