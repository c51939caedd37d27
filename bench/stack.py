"""The whole Flask stack (examples/flask-app.yaml) on fresh lab sandboxes, for bench/compare_full.py: boot a
box with its lab, run each tool as its users run it, read each tool's own report of what it changed, and check
the end state the way a user sees it.

Each tool returns (seconds, changes) where `changes` is what the tool itself reported: deploy-wizard's JSON
(`run_finished.changes`), pyinfra's results table ("Grand total", the Success column: operations that
changed something) and Ansible's PLAY RECAP (`changed=`). A no-op is only counted when that number is 0.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.startup import compiled
from wizard.lab import practice, sandbox

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "examples" / "flask-app.yaml"
PEERS = ROOT / "bench" / "peers"
FILES = ROOT / "snapshots" / "config"  # the files deploy-wizard writes for examples/flask-app.yaml (golden)
VENV = Path(os.environ.get("DW_COMPARE_VENV", "/tmp/dw-compare-venv"))
# the peers as a user installs them today, pinned so that a results file says what ran
PEER_PACKAGES = ("ansible==12.3.0", "ansible-core==2.19.14", "pyinfra==3.10.0")
PASSWORD = os.environ.setdefault("DEMO_DB_PASSWORD", "bench-password")
DOMAIN = "demo.example.test"


class ToolFailed(RuntimeError):
    """A tool exited non-zero, or its report could not be read."""


@dataclass
class Box:
    """A fresh sandbox with its practice lab (git server with the example app, pebble)."""

    info: sandbox.SandboxInfo
    lab: practice.Lab
    commit: str

    @property
    def release(self) -> str:
        return self.commit[:12]

    def ssh(self, script: str, user: str = "root", stdin: str | None = None, timeout: float = 900) -> str:
        proc = subprocess.run(sandbox.ssh_command(self.info.name, user, [script]), input=stdin, text=True,
                              capture_output=True, timeout=timeout)
        if proc.returncode != 0:
            raise ToolFailed(f"ssh {script[:60]!r} exited {proc.returncode}: {proc.stderr[-800:]}")
        return proc.stdout


def boot() -> Box:
    info = sandbox.up(progress=lambda _m: None, lab=True)
    lab = practice.load(sandbox.lab_dir(info.name))
    if lab is None:
        sandbox.down(info.name, progress=lambda _m: None)
        raise ToolFailed(f"sandbox {info.name} has no lab")
    commit = practice.git("rev-parse", "HEAD", cwd=lab.work_tree("demo")).strip()
    return Box(info, lab, commit)


def down(box: Box) -> None:
    sandbox.down(box.info.name, progress=lambda _m: None)


def ensure_peers() -> dict[str, str]:
    """Ansible and pyinfra from PyPI into their own venv (never the project's); returns their versions."""
    want = set(PEER_PACKAGES)
    have = set()
    if (VENV / "bin" / "pip").exists():
        out = subprocess.run([str(VENV / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
        have = {line.strip().lower() for line in out.splitlines()}
    if not want <= have:
        print(f"installing {' '.join(PEER_PACKAGES)} into {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        *PEER_PACKAGES], check=True)
    return {spec.split("==")[0]: spec.split("==")[1] for spec in PEER_PACKAGES}


def recipe_args(box: Box) -> list[str]:
    """examples/flask-app.yaml pointed at this box and its lab; the watch of a new release (30 s by default) is
    not part of a first apply (issue 22: there is no earlier release), so it is 0 here."""
    return ["--host", box.info.ip, "--set", f"code.repo={box.lab.git_url}/demo.git",
            "--set", f"tls.acme_server={box.lab.acme_directory}", "--set", "app_server.watch=0"]


def _run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise ToolFailed(f"{Path(argv[0]).name} exited {proc.returncode}:\n{out[-3000:]}")
    return seconds, out


def run_wizard(box: Box) -> tuple[float, int]:
    """deploy-wizard's apply, its code compiled as an installed one is (and as the peers' are: pip compiles what it
    installs), even where PYTHONDONTWRITEBYTECODE is set; without it every run would compile ~150 modules first."""
    seconds, out = _run([sys.executable, "-m", "wizard", "apply", str(RECIPE), *recipe_args(box), "--yes", "--json"],
                        env=compiled())
    return seconds, wizard_changes(out)


def wizard_changes(out: str) -> int:
    """The changes deploy-wizard's `apply --json` reported (its last event, run_finished)."""
    finished = [json.loads(line) for line in out.splitlines() if '"run_finished"' in line]
    if not finished or not finished[-1].get("ok"):
        raise ToolFailed(f"deploy-wizard: no successful run_finished event:\n{out[-2000:]}")
    return int(finished[-1]["changes"])


def ansible_changes(out: str, ip: str) -> int:
    """`changed=` of the host's line in Ansible's PLAY RECAP."""
    recap = re.search(rf"^{re.escape(ip)}\s*:.*\bchanged=(\d+).*\bfailed=(\d+)", out, re.M)
    if not recap or recap.group(2) != "0":
        raise ToolFailed(f"ansible: no PLAY RECAP without failures:\n{out[-2000:]}")
    return int(recap.group(1))


def pyinfra_changes(out: str) -> int:
    """The Success column of pyinfra's "Grand total" row: operations that changed something."""
    total = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.sub(r"\x1b\[[0-9;]*m", "", out))
    if not total or total.group(3) != "-":
        raise ToolFailed(f"pyinfra: no results table without errors:\n{out[-2000:]}")
    return 0 if total.group(2) == "-" else int(total.group(2))


def peer_vars(box: Box) -> dict[str, str]:
    """What the peers are told (a user's inventory variables and vault): the same values deploy-wizard's recipe
    names or resolves. The owner role's password is the user's own secret (deploy-wizard makes one on the server)."""
    return {"repo": f"{box.lab.git_url}/demo.git", "commit": box.commit, "release": box.release,
            "acme_server": box.lab.acme_directory, "db_password": PASSWORD, "files_dir": str(FILES),
            "db_owner_password": _OWNER.setdefault(box.info.name, secrets.token_hex(24))}


_OWNER: dict[str, str] = {}


def _known_hosts(box: Box) -> str:
    return str(sandbox.state_dir() / "run" / box.info.name / "known_hosts")


def run_ansible(box: Box) -> tuple[float, int]:
    env = {**os.environ, "ANSIBLE_PIPELINING": "true", "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
           "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={_known_hosts(box)} -o StrictHostKeyChecking=yes "
                               "-o ControlMaster=auto -o ControlPersist=60s",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false"}
    seconds, out = _run([str(VENV / "bin" / "ansible-playbook"), "-i", f"{box.info.ip},", "-u", "admin",
                         "--private-key", box.info.key, "-e", json.dumps(peer_vars(box)),
                         str(PEERS / "flask_playbook.yml")], env=env)
    return seconds, ansible_changes(out, box.info.ip)


def run_pyinfra(box: Box) -> tuple[float, int]:
    data = [arg for key, value in {**peer_vars(box), "ssh_known_hosts_file": _known_hosts(box)}.items()
            for arg in ("--data", f"{key}={value}")]
    seconds, out = _run([str(VENV / "bin" / "pyinfra"), box.info.ip, str(PEERS / "flask_deploy.py"),
                         "--ssh-user", "admin", "--ssh-key", box.info.key, *data, "-y"],
                        env={**os.environ, "NO_COLOR": "1"})
    return seconds, pyinfra_changes(out)


# --- the end state, the way a user sees it


@dataclass
class EndState:
    """What a user can see on the server: deploy-wizard's drift check, the page, the rows behind it."""

    check_ok: bool
    drift: list[str]  # the changes `check --json` lists: what differs from deploy-wizard's own end state
    page_ok: bool
    visits: int | None  # rows in the app's table after the page was asked twice
    page: str


def end_state(box: Box) -> EndState:
    check = subprocess.run([sys.executable, "-m", "wizard", "check", str(RECIPE), *recipe_args(box), "--json"],
                           cwd=ROOT, capture_output=True, text=True)
    drift = [f"{event['step']}: {change['do']}" for line in check.stdout.splitlines() if line.startswith("{")
             for event in [json.loads(line)] if isinstance(event.get("changes"), list)
             for change in event["changes"] if isinstance(change, dict) and "do" in change]
    url = f"https://{DOMAIN}/"
    curl = f"curl -fsS --max-time 20 {shlex.quote(url)}"  # the box resolves the domain to itself, trusts the CA
    try:
        box.ssh(curl)
        page = box.ssh(curl)
        rows = box.ssh("runuser -u postgres -- psql -d demo -tAc 'select count(*) from visits'").strip()
        visits = int(rows)
    except (ToolFailed, ValueError) as exc:
        return EndState(check.returncode == 0, drift, False, None, str(exc)[-300:])
    page_ok = "Hello from deploy-wizard" in page and f"visits: {visits}" in page
    return EndState(check.returncode == 0, drift, page_ok, visits, page.strip()[-300:])
