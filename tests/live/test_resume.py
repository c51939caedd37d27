"""Issue 5, live: the SSH connection dies in the middle of a step; `apply --resume` finishes the job from
the journal, without redoing the steps that had completed, and a further apply changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.live.conftest import cli, events, finished, on_box, write_recipe

STEPS = """  os_updates:
    lists_max_age: 86400
    upgrade: none
    packages: []
    timezone: Europe/Rome
    man_db_auto_update: true  # leave man-db as it is: only the python step's install meets the held dpkg lock
  deploy_user:
    name: deploy
  python: {}
"""


def test_resume_after_the_connection_drops_mid_step(box, live_dirs) -> None:
    recipe = write_recipe(live_dirs / "resume.yaml", box, STEPS)
    # hold the dpkg lock: the python step's apt install will wait (visibly) until we cut the connection
    hold = ("mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp; "  # lists fresh
            "nohup python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
            "fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(300)' >/dev/null 2>&1 & echo $!")
    holder = on_box(box, hold).stdout.strip()
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en"}
    run = subprocess.Popen([sys.executable, "-m", "wizard", "apply", str(recipe), "--yes", "--json"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 300
    for line in run.stdout:  # type: ignore[union-attr]
        event = json.loads(line)
        seen.append(event)
        if event["event"] == "notice" and "waiting for the package manager lock" in event["text"]:
            break
        assert time.monotonic() < deadline
    assert [e["step"] for e in seen if e["event"] == "step_finished"] == ["os_updates", "deploy_user"]
    # the network drops: OpenSSH 10 (Debian 13) names a session's process sshd-session, older ones sshd
    on_box(box, "pkill -f 'sshd(-session)?: admin'")
    rest, _ = run.communicate(timeout=120)
    assert run.returncode == 1
    dropped = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    assert any(e["event"] == "step_failed" and e["step"] == "python" for e in dropped)
    on_box(box, f"kill {holder}")  # the other package manager finishes

    resumed = cli(live_dirs, "apply", str(recipe), "--yes", "--json", "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    noops = {e["step"]: e["reason"] for e in events(resumed) if e["event"] == "step_noop"}
    # the dropped connection failed the python step, and the journal's last record says so (not a cut-off run)
    assert "completed in the run that stopped at python" in noops["os_updates"]
    assert "completed in the run that stopped at python" in noops["deploy_user"]
    started = [e["step"] for e in events(resumed) if e["event"] == "change_started"]
    assert started and set(started) == {"python"}  # nothing done twice
    assert on_box(box, "test -x /srv/live/venv/bin/gunicorn && echo yes").stdout.strip() == "yes"
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", "--resume")  # nothing left to resume
    assert finished(again)["changes"] == 0
