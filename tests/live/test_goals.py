"""The goals on a real server: its size read (cgroup limits included), a default they give applied for real, the
resolved values saved beside the answers, a second apply with 0 changes, and a replay as if on another size.

One sandbox, two applies and three plans. The sandbox is a container (systemd-nspawn) that sees the host's
memory (the lab sets no cgroup limit; on this kind of host, cgroup v1, it reads memory.limit_in_bytes = max), so
no swap is needed; a cgroup-limited one is sized by its limit and told why no swap is added
(tests/cases/goals/cgroup_limited_sandbox_explains_swap.yaml), a 1 GiB VM gets /swapfile
(tests/cases/goals/small_vm_gets_swap.yaml).
"""

from __future__ import annotations

import yaml

from tests.live.conftest import cli, events, finished, on_box, write_recipe

STEPS = """\
  # the shop: public, and its orders matter
  goals: {audience: public, peak_users: 200, uptime: always, data: critical}
  environment: {kind: local}
  os_updates: {upgrade: none, lists_max_age: 86400}
"""


def test_goals_resolve_on_the_server_and_drive_a_default(box, live_dirs) -> None:
    recipe = write_recipe(live_dirs / "goals.yaml", box, STEPS)
    first = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    summary = finished(first)
    assert first.returncode == 0 and summary["ok"], first.stdout[-3000:] + first.stderr[-3000:]
    assert {"goals", "os_updates"} <= set(summary["changed_steps"])

    # the default the goals gave (a public site: automatic security updates) is really on the server
    state = on_box(box, "dpkg-query -W -f '${Status}\\n' unattended-upgrades; cat /etc/apt/apt.conf.d/20auto-upgrades; "
                        "nproc; cat /etc/deploy-wizard/claims/goals/live.json")
    assert "install ok installed" in state.stdout and 'Unattended-Upgrade "1";' in state.stdout
    cpus = int(state.stdout.splitlines()[-2])
    claim = yaml.safe_load(state.stdout.splitlines()[-1])
    assert claim["fail2ban"] is True and claim["unattended_upgrades"] is True

    # saved beside the answers, for the size the server really has
    saved = yaml.safe_load(recipe.read_text())["steps"]["goals"]
    assert saved["audience"] == "public" and saved["resolved"]["cpus"] == cpus
    assert saved["resolved"]["unattended_upgrades"] is True and saved["resolved"]["rate_limit"] == 10
    # inserted into the file as it was: its comment stays, and no other step's settings are written out
    assert "  # the shop: public, and its orders matter\n" in recipe.read_text()
    assert "os_updates: {upgrade: none, lists_max_age: 86400}" in recipe.read_text()
    assert "the rest of the file is as it was" in first.stdout + first.stderr

    second = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert second.returncode == 0 and finished(second)["changes"] == 0, second.stdout[-3000:]

    text = planned(live_dirs, recipe)
    assert "os_updates.unattended_upgrades = on, because you said a public site" in text
    # swap: enough memory, or (a sandbox under 2 GiB) explained as the host's, never attempted in a container
    assert "swap: 0 MiB, enough for the goals" in text or "this server is a container (systemd-nspawn)" in text
    assert "no TLS on this LAN server" in text

    # a replay as if the values had been resolved on a 64-CPU server: kept by default, recomputed on request
    data = yaml.safe_load(recipe.read_text())
    data["steps"]["goals"]["resolved"].update(cpus=64, mem_mib=262144, workers=33)
    recipe.write_text(yaml.safe_dump(data))
    assert "the resolved values are kept (goals.on_other_size: keep)" in planned(live_dirs, recipe)
    redo = planned(live_dirs, recipe, "--set", "goals.on_other_size=recompute")
    assert "recomputed for this server" in redo and "workers 33 -> " in redo


def planned(live_dirs, recipe, *flags: str) -> str:
    """Every note and warning of the goals and environment steps in a plan, one per line."""
    plan = cli(live_dirs, "plan", str(recipe), "--json", *flags)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    lines = []
    for event in events(plan):
        if event["event"] == "step_planned" and event["step"] in ("goals", "environment"):
            lines += event["notes"] + [warning["text"] for warning in event["warnings"]]
    return "\n".join(lines)
