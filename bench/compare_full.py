#!/usr/bin/env python3
"""Benchmark: the whole Flask stack (examples/flask-app.yaml) with deploy-wizard, Ansible and plain bash.

The Ansible playbook and the bash script are deploy-wizard's own exports of the recipe (one first apply is
recorded on a throwaway sandbox), so all three do the same work, command for command: what differs is how the
work travels. Each tool gets a fresh sandbox: first apply, `deploy-wizard check` on the result ("same state"),
then no-op re-applies (median of --runs). The bash script goes through one plain `ssh root@box bash -s`, the
cheapest way a hand-written script could be run. Ansible is ansible-core with pipelining and ControlPersist
(its fastest settings), from the venv scripts/setup.sh makes ($DW_ANSIBLE_VENV).
bench/compare.py compares hand-written Ansible and pyinfra versions of the smaller sandbox example.

Usage (root, Linux): python3 bench/compare_full.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.compare import timed  # noqa: E402
from tests.live.services import (  # noqa: E402
    ANSIBLE_PLAYBOOK,
    flask_recipe_text,
    git_daemon,
    make_repo,
    pebble,
    prepare_for_certificates,
)
from wizard.app.exports.ansible import playbook  # noqa: E402
from wizard.app.exports.shell import shell_script  # noqa: E402
from wizard.app.recipefile import parse  # noqa: E402
from wizard.app.recording import record  # noqa: E402
from wizard.app.session import Questions  # noqa: E402
from wizard.engine.sinks import ConsoleSink  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

PASSWORD = os.environ.setdefault("DEMO_DB_PASSWORD", "bench-password")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sandbox.check_host()
    if not ANSIBLE_PLAYBOOK.exists():
        raise SystemExit(f"{ANSIBLE_PLAYBOOK} is missing: run scripts/setup.sh")
    base = Path(tempfile.mkdtemp(prefix="dw-compare-full-"))
    boxes: list[sandbox.SandboxInfo] = []

    def boot() -> sandbox.SandboxInfo:
        boxes.append(sandbox.up(progress=lambda m: None))
        prepare_for_certificates(boxes[-1], acme)
        return boxes[-1]

    with contextlib.ExitStack() as stack:
        recorder = sandbox.up(progress=lambda m: None)
        boxes.append(recorder)
        try:
            _, bare = make_repo(base / "git")
            git_url = stack.enter_context(git_daemon(bare.parent, recorder.host_ip))
            acme = stack.enter_context(pebble(base / "pebble", recorder.ip))
            prepare_for_certificates(recorder, acme)
            recipe_file = base / "flask-app.yaml"
            recipe_file.write_text(flask_recipe_text(git_url, acme, recorder.ip))
            recipe = parse(recipe_file.read_text(), str(recipe_file))
            print("recording the first apply for the exports...", flush=True)
            recording = asyncio.run(record(recipe, recorder.ip, ConsoleSink(out=open(os.devnull, "w")),  # noqa: SIM115
                                           Questions()))
            (base / "playbook.yml").write_text(playbook(recording, "flask-app.yaml"))
            script = (f"export DEMO_DB_PASSWORD={shlex.quote(PASSWORD)}\n"
                      + shell_script(recording, "flask-app.yaml")).encode()

            def run_wizard(box: sandbox.SandboxInfo) -> None:
                subprocess.run([sys.executable, "-m", "wizard", "apply", str(recipe_file), "--host", box.ip, "--yes",
                                "-q"], cwd=ROOT, check=True, capture_output=True)

            def run_ansible(box: sandbox.SandboxInfo) -> None:
                known = sandbox.state_dir() / "run" / box.name / "known_hosts"
                env = {**os.environ, "ANSIBLE_PIPELINING": "true", "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
                       "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                                           "-o ControlMaster=auto -o ControlPersist=60s"}
                subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", f"{box.ip},", "-u", "admin", "--private-key", box.key,
                                str(base / "playbook.yml")], env=env, check=True, capture_output=True)

            def run_bash(box: sandbox.SandboxInfo) -> None:
                subprocess.run(sandbox.ssh_command(box.name, "root", ["bash -s"]), input=script, check=True,
                               capture_output=True)

            tools = {"deploy-wizard": run_wizard, "ansible (export)": run_ansible, "bash (export)": run_bash}
            first, same, noop = {}, {}, {}
            for tool, run in tools.items():
                box = boot()
                first[tool] = timed(run, box)
                same[tool] = subprocess.run([sys.executable, "-m", "wizard", "check", str(recipe_file), "--host",
                                             box.ip], cwd=ROOT, capture_output=True).returncode == 0
                noop[tool] = statistics.median(timed(run, box) for _ in range(args.runs))
                print(f"  {tool}: first {first[tool]:.1f} s, no-op {noop[tool]:.2f} s", flush=True)
        finally:
            for box in boxes:
                sandbox.down(box.name, progress=lambda m: None)
    print(f"\n{'tool':18} {'first apply':>12} {'no-op re-apply':>15}  {'same state':>10}   ratio to deploy-wizard "
          "(first / no-op)")
    for tool in tools:
        print(f"{tool:18} {first[tool]:10.1f} s {noop[tool]:13.2f} s  {'yes' if same[tool] else 'NO':>10}   "
              f"{first[tool] / first['deploy-wizard']:.2f} / {noop[tool] / noop['deploy-wizard']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
