"""Issue 10, item 5, live: the whole tutorial straight from the README. `deploy-wizard sandbox up --lab` boots a
Debian 13 server with the practice lab beside it; the apply command it prints runs examples/flask-app.yaml as it
is; the site answers over HTTPS, and the example's own health check passes on the server (it trusts the lab's
test CA). `sandbox down` stops the lab with the sandbox."""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess

from tests.live.conftest import cli, require_sandbox
from wizard.lab import sandbox
from wizard.lab.host import alive


def test_sandbox_up_lab_runs_the_flask_example_as_it_is(live_dirs) -> None:
    require_sandbox()
    name = "lab" + secrets.token_hex(3)
    up = cli(live_dirs, "sandbox", "up", "--lab", "--name", name, timeout=600)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        assert "Debian 13 (trixie)" in up.stdout and "The practice lab runs beside it" in up.stdout
        printed = re.search(r"^\s*(DEMO_DB_PASSWORD=\S+) deploy-wizard (apply examples/flask-app\.yaml.*)$",
                            up.stdout, re.M)
        assert printed, up.stdout
        password = printed.group(1).split("=", 1)[1]
        apply = cli(live_dirs, *shlex.split(printed.group(2)), env={"DEMO_DB_PASSWORD": password}, timeout=1500)
        assert apply.returncode == 0, apply.stdout[-4000:] + apply.stderr[-2000:]

        curl = re.search(r"^\s*(curl --cacert .*)$", up.stdout, re.M)
        assert curl, up.stdout
        page = subprocess.run(shlex.split(curl.group(1)), capture_output=True, text=True, timeout=60)
        assert "Hello from deploy-wizard" in page.stdout, page.stdout + page.stderr
        health = subprocess.run(sandbox.ssh_command(name, "root", [
            "systemctl start demo-health.service; systemctl show -p Result --value demo-health.service"]),
            capture_output=True, text=True, timeout=120)
        assert health.stdout.strip() == "success", health.stdout + health.stderr

        again = cli(live_dirs, *shlex.split(printed.group(2)), env={"DEMO_DB_PASSWORD": password}, timeout=600)
        assert again.returncode == 0 and "OK: 0 changes" in again.stdout, again.stdout[-3000:]
        lab = sandbox.practice.load(sandbox.lab_dir(name))
        assert lab is not None and lab.pids
    finally:
        down = cli(live_dirs, "sandbox", "down", name)
    assert down.returncode == 0, down.stderr
    assert not sandbox.lab_dir(name).exists()
    assert all(not alive(pid) for pid in lab.pids)  # git daemon, pebble and its resolver stopped
