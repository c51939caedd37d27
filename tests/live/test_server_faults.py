"""Issue 15, item 5, live: the server reboots in the middle of an apply (inside a package install), and the disk
being written fills up. Each time the run fails with a clear message, the next run finishes the job (an install
cut off mid-dpkg is finished first), and a further apply changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.live.conftest import cli, events, finished, on_box, write_recipe
from wizard.lab import sandbox

STEPS = """  os_updates:
    upgrade: none
    packages: [nginx-light]
  deploy_user:
    name: deploy
  python: {}
"""
PAUSE = "/etc/dpkg/dpkg.cfg.d/zz-test-pause"


def back_up(box: sandbox.SandboxInfo, limit: float = 300) -> None:
    """Wait for the sandbox to boot again (its supervisor restarts it); a login tried while it is down may hang."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            ssh, *rest = sandbox.ssh_command(box.name, "root", [
                "systemctl is-system-running --wait >/dev/null 2>&1; echo up"])
            answer = subprocess.run([ssh, "-o", "ConnectTimeout=5", *rest], capture_output=True, text=True,
                                    timeout=60, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            continue
        if answer.stdout.strip() == "up":
            return
        time.sleep(2)
    raise AssertionError("the sandbox did not come back after its reboot")


def test_a_reboot_inside_a_package_install_is_finished_by_the_next_run(box, live_dirs) -> None:
    recipe = write_recipe(live_dirs / "reboot.yaml", box, STEPS)
    # apt runs dpkg twice, to unpack and then to configure; a pause after each run of dpkg holds its packages
    # unpacked and not configured for long enough that the reboot lands inside the install, not after it
    on_box(box, f"echo 'post-invoke=sleep 20' > {PAUSE}")
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en"}
    run = subprocess.Popen([sys.executable, "-m", "wizard", "apply", str(recipe), "--yes", "--json"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stdout:  # type: ignore[union-attr]
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "output" and "Unpacking" in str(event.get("text")):
            on_box(box, "systemd-run --on-active=0.2 systemctl reboot --force")  # a hard reboot, mid-dpkg
            break
    else:
        raise AssertionError("the apply never reached a package install")
    _rest, _err = run.communicate(timeout=300)
    assert run.returncode == 1
    back_up(box)
    on_box(box, f"rm {PAUSE}")
    left = on_box(box, "{ ls -A /var/lib/dpkg/updates; dpkg --audit; } 2>&1").stdout
    assert left.strip(), "the reboot did not land inside the install: dpkg left nothing to finish"
    resumed = cli(live_dirs, "apply", str(recipe), "--yes", "--json", "--resume")
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr[-2000:]
    said = [str(e["text"]) for e in events(resumed) if e["event"] == "output"]
    assert any("an earlier package install was interrupted; finishing it first" in line for line in said)
    assert on_box(box, "dpkg --audit; systemctl is-active nginx").stdout.strip() == "active"
    assert finished(cli(live_dirs, "apply", str(recipe), "--yes", "--json"))["changes"] == 0


def test_a_full_disk_is_named_and_the_run_after_growing_it_converges(box, live_dirs) -> None:
    # apt's download cache on a small filesystem of its own, as when /var fills up
    on_box(box, "mount -t tmpfs -o size=1m,mode=0755 tmpfs /var/cache/apt/archives && "
                "mkdir -p -m 0700 /var/cache/apt/archives/partial && chown _apt /var/cache/apt/archives/partial")
    recipe = write_recipe(live_dirs / "full.yaml", box, "  os_updates:\n    upgrade: none\n    packages: [git]\n")
    full = cli(live_dirs, "apply", str(recipe), "--yes")
    said = full.stdout + full.stderr
    assert full.returncode == 1, said[-3000:]
    assert "The disk holding /var/cache/apt/archives is full:" in said, said[-3000:]
    assert "Free space there (or grow it), then run again." in said
    assert "Traceback" not in said
    on_box(box, "mount -o remount,size=300m /var/cache/apt/archives")
    grown = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert grown.returncode == 0, grown.stdout[-4000:] + grown.stderr[-2000:]
    assert on_box(box, "git --version").returncode == 0
    assert finished(cli(live_dirs, "apply", str(recipe), "--yes", "--json"))["changes"] == 0
    on_box(box, "umount /var/cache/apt/archives")
