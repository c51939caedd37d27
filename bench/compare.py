#!/usr/bin/env python3
"""Benchmark: examples/sandbox.yaml with deploy-wizard, Ansible and pyinfra, each on its own fresh sandbox.

The same work (bench/compare/playbook.yml and bench/compare/pyinfra_deploy.py say it in the other tools'
words): a first apply on a fresh Debian 12 server, then no-op re-applies (median of --runs). Prints wall times,
each tool's ratio to deploy-wizard, and whether `deploy-wizard check` finds the other tools' servers in the
recipe's state ("same state"). Seen here: Ansible's apt cache window leaves no update stamp, so the check
wants to refresh the lists; pyinfra writes authorized_keys with a leading blank line, which the check would
normalise. Neither is a different server, both are reported as they are.
Ansible (ansible-core) and pyinfra come from PyPI into their own venv
($DW_COMPARE_VENV, default /tmp/dw-compare-venv), never into the project's environment.

Usage (root, Linux): python3 bench/compare.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.lab import sandbox  # noqa: E402

VENV = Path(os.environ.get("DW_COMPARE_VENV", "/tmp/dw-compare-venv"))
RECIPE = ROOT / "examples" / "sandbox.yaml"


def ensure_tools() -> None:
    if (VENV / "bin" / "ansible-playbook").exists() and (VENV / "bin" / "pyinfra").exists():
        return
    print("installing ansible-core and pyinfra into", VENV, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "ansible-core", "pyinfra"], check=True)


def known_hosts(box: sandbox.SandboxInfo) -> str:
    return str(sandbox.state_dir() / "run" / box.name / "known_hosts")


def run_wizard(box: sandbox.SandboxInfo) -> None:
    subprocess.run([sys.executable, "-m", "wizard", "apply", str(RECIPE), "--host", box.ip, "--yes", "-q"],
                   cwd=ROOT, check=True, capture_output=True)


def run_ansible(box: sandbox.SandboxInfo) -> None:
    env = {**os.environ, "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known_hosts(box)} -o StrictHostKeyChecking=yes "
                                             "-o ControlMaster=auto -o ControlPersist=60s",
           "ANSIBLE_PIPELINING": "true", "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"}
    subprocess.run([str(VENV / "bin" / "ansible-playbook"), "-i", f"{box.ip},", "-u", "admin", "--private-key",
                    box.key, str(ROOT / "bench" / "compare" / "playbook.yml")], env=env, check=True,
                   capture_output=True)


def run_pyinfra(box: sandbox.SandboxInfo) -> None:
    subprocess.run([str(VENV / "bin" / "pyinfra"), box.ip, str(ROOT / "bench" / "compare" / "pyinfra_deploy.py"),
                    "--ssh-user", "admin", "--ssh-key", box.key, "--data", f"ssh_known_hosts_file={known_hosts(box)}",
                    "-y"], cwd=ROOT, check=True, capture_output=True)


def timed(run, box) -> float:  # noqa: ANN001
    started = time.perf_counter()
    try:
        run(box)
    except subprocess.CalledProcessError as exc:
        tail = b"".join(((exc.stdout or b"")[-1500:], (exc.stderr or b"")[-1500:])).decode(errors="replace")
        raise SystemExit(f"{run.__name__} failed:\n{tail}") from None
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sandbox.check_host()
    ensure_tools()
    tools = {"deploy-wizard": run_wizard, "ansible": run_ansible, "pyinfra": run_pyinfra}
    boxes = {}
    try:
        for tool in tools:
            boxes[tool] = sandbox.up(progress=lambda m: None)
        first = {tool: timed(run, boxes[tool]) for tool, run in tools.items()}
        # the same end state? deploy-wizard's drift check on every box (exit 0 = matches the recipe)
        same = {tool: subprocess.run([sys.executable, "-m", "wizard", "check", str(RECIPE), "--host", box.ip],
                                     cwd=ROOT, capture_output=True).returncode == 0 for tool, box in boxes.items()}
        noop = {tool: statistics.median(timed(run, boxes[tool]) for _ in range(args.runs))
                for tool, run in tools.items()}
    finally:
        for box in boxes.values():
            sandbox.down(box.name, progress=lambda m: None)
    print(f"{'tool':14} {'first apply':>12} {'no-op re-apply':>15}  {'same state':>10}   ratio to deploy-wizard "
          "(first / no-op)")
    for tool in tools:
        print(f"{tool:14} {first[tool]:10.1f} s {noop[tool]:13.2f} s  {'yes' if same[tool] else 'NO':>10}   "
              f"{first[tool] / first['deploy-wizard']:.2f} / {noop[tool] / noop['deploy-wizard']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
