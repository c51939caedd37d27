#!/usr/bin/env python3
"""Benchmark: examples/sandbox.yaml with deploy-wizard, Ansible and pyinfra, each on its own fresh sandbox.

The same work (bench/compare/playbook.yml and bench/compare/pyinfra_deploy.py say it in the other tools'
words): a first apply on a fresh server, then --runs no-op re-applies (the order of the tools rotates each
run), each of which reads the tool's own report (deploy-wizard's JSON, Ansible's PLAY RECAP, pyinfra's results
table) and fails unless it says 0 changes. Prints the first apply, min/median/max of the no-ops and of their
ratios to deploy-wizard (taken inside one run), and whether `deploy-wizard check` finds the other tools' servers
in the recipe's state ("same state"). Seen here: Ansible's apt cache window leaves no update stamp, so the check
wants to refresh the lists; pyinfra writes authorized_keys with a leading blank line, which the check would
normalise. Neither is a different server, both are reported as they are.
Ansible (ansible-core) and pyinfra come from PyPI into their own venv
($DW_COMPARE_VENV, default /tmp/dw-compare-venv), never into the project's environment.

Usage (root, Linux): python3 bench/compare.py [--runs 5]
The first apply here is one sample per tool; bench/compare_full.py times the whole Flask stack over N rounds of
fresh servers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import VENV, ansible_changes, ensure_peers, pyinfra_changes, wizard_changes  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

RECIPE = ROOT / "examples" / "sandbox.yaml"


def known_hosts(box: sandbox.SandboxInfo) -> str:
    return str(sandbox.state_dir() / "run" / box.name / "known_hosts")


def run(argv: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{Path(argv[0]).name} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return proc.stdout + proc.stderr


def run_wizard(box: sandbox.SandboxInfo) -> int:
    return wizard_changes(run([sys.executable, "-m", "wizard", "apply", str(RECIPE), "--host", box.ip, "--yes",
                               "--json"]))


def run_ansible(box: sandbox.SandboxInfo) -> int:
    env = {**os.environ, "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known_hosts(box)} -o StrictHostKeyChecking=yes "
                                             "-o ControlMaster=auto -o ControlPersist=60s",
           "ANSIBLE_PIPELINING": "true", "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3", "ANSIBLE_NOCOLOR": "1"}
    return ansible_changes(run([str(VENV / "bin" / "ansible-playbook"), "-i", f"{box.ip},", "-u", "admin",
                                "--private-key", box.key, str(ROOT / "bench" / "compare" / "playbook.yml")], env),
                           box.ip)


def run_pyinfra(box: sandbox.SandboxInfo) -> int:
    return pyinfra_changes(run([str(VENV / "bin" / "pyinfra"), box.ip, str(ROOT / "bench" / "compare" /
                                                                           "pyinfra_deploy.py"),
                                "--ssh-user", "admin", "--ssh-key", box.key, "--data",
                                f"ssh_known_hosts_file={known_hosts(box)}", "-y"], {**os.environ, "NO_COLOR": "1"}))


def timed(tool: str, job: Callable[[sandbox.SandboxInfo], int], box: sandbox.SandboxInfo,
          noop: bool) -> float:
    started = time.perf_counter()
    changes = job(box)
    seconds = time.perf_counter() - started
    if noop and changes:
        raise SystemExit(f"{tool}: the no-op re-apply reported {changes} changes: not a no-op, not counted")
    return seconds


def spread(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}){unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sandbox.check_host()
    ensure_peers()
    tools = {"deploy-wizard": run_wizard, "ansible": run_ansible, "pyinfra": run_pyinfra}
    names = list(tools)
    boxes = {}
    try:
        for tool in tools:
            boxes[tool] = sandbox.up(progress=lambda m: None)
        first = {tool: timed(tool, job, boxes[tool], False) for tool, job in tools.items()}
        # the same end state? deploy-wizard's drift check on every box (exit 0 = matches the recipe)
        same = {tool: subprocess.run([sys.executable, "-m", "wizard", "check", str(RECIPE), "--host", box.ip],
                                     cwd=ROOT, capture_output=True).returncode == 0 for tool, box in boxes.items()}
        noop: dict[str, list[float]] = {tool: [] for tool in tools}
        for n in range(args.runs):
            for tool in names[n % len(names):] + names[:n % len(names)]:
                noop[tool].append(timed(tool, tools[tool], boxes[tool], True))
    finally:
        for box in boxes.values():
            sandbox.down(box.name, progress=lambda m: None)
    print(f"{'tool':14} {'first apply':>12} {'no-op, median (min-max) of ' + str(args.runs):>30}  {'same state':>10}"
          "   ratio to deploy-wizard (first / no-op)")
    for tool in tools:
        ratios = [a / b for a, b in zip(noop[tool], noop["deploy-wizard"], strict=True)]
        print(f"{tool:14} {first[tool]:10.1f} s {spread(noop[tool], ' s'):>30}  {'yes' if same[tool] else 'NO':>10}"
              f"   {first[tool] / first['deploy-wizard']:.2f} / {spread(ratios, '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
