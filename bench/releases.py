#!/usr/bin/env python3
"""The whole tutorial on every supported Debian release, side by side: a table step x release, and timings.

For each release (Debian 13 and 12): boot a fresh sandbox with the practice lab (`sandbox up --lab`), apply
examples/flask-app.yaml as it is (with Prometheus and the nginx/PostgreSQL exporters switched on, so every step
and every exporter is exercised), then re-apply it --runs times. Prints, per step, its status on the first apply
and the no-op re-apply (and every re-apply's own count of changes); then whole-process wall times (first apply;
no-op min / median / max) per release, and the site's answer, the health check's result and the exporters' "up"
values, with the commit and the load average before and after. Nothing here asserts a time.

Usage (root, Linux): python3 bench/releases.py [--runs 3] [--release trixie --release bookworm] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.lab import sandbox  # noqa: E402

EXTRA = ["--set", "monitoring.prometheus=true", "--set", "monitoring.nginx_exporter=true",
         "--set", "monitoring.postgres_exporter=true"]


# One password for the whole bench: a new one per run would be a real change on every re-apply (the database
# role's password and database.env, then the app server's restart), and no re-apply would be a no-op.
PASSWORD = "bench-" + secrets.token_hex(8)


def cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "DEMO_DB_PASSWORD": PASSWORD, "DEPLOY_WIZARD_LANG": "en"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True, cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL)
    return result, time.monotonic() - started


def statuses(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event["event"] == "step_finished":
                found[event["step"]] = f"{event['status']} ({event['changes']})"
            elif event["event"] == "step_failed":
                found[event["step"]] = "FAILED"
    return found


def changes(result: subprocess.CompletedProcess[str]) -> int | None:
    """The run's own report of its changes (its last `run_finished` event); None when it never said (it died)."""
    ends = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"event": "run_finished"')]
    return ends[-1]["changes"] if ends else None


Timed = tuple[subprocess.CompletedProcess[str], float]


def summarise(first: Timed, noops: list[Timed]) -> dict[str, object]:
    """Each step's status on the first apply and on the last re-apply, the wall times, and every re-apply's own
    count of changes (not only the last one's: a timed no-op that changed something is no no-op); the re-applies'
    wall times as min, median, max."""
    return {"first": statuses(first[0]), "noop": statuses(noops[-1][0]), "first_s": first[1],
            "noop_s": [min(s for _, s in noops), statistics.median(s for _, s in noops), max(s for _, s in noops)],
            "ok": first[0].returncode == 0,
            "noop_changes": [changes(result) for result, _ in noops]}


def on(box: sandbox.SandboxInfo, command: str) -> str:
    return subprocess.run(sandbox.ssh_command(box.name, "root", [command]), capture_output=True, text=True,
                          timeout=120).stdout.strip()


def run_release(release: sandbox.Release, runs: int, keep: bool) -> dict[str, object]:
    name = f"rel{release[:4]}"
    up = subprocess.run([sys.executable, "-m", "wizard", "sandbox", "up", "--lab", "--name", name, "--release",
                         release], capture_output=True, text=True, cwd=ROOT)
    if up.returncode != 0:
        raise SystemExit(up.stdout + up.stderr)
    box = next(s for s in sandbox.list_sandboxes() if s.name == name)
    # the command line `up` printed for this sandbox (with its --host/--set overrides when it is not the first)
    printed = re.search(r"deploy-wizard apply (examples/flask-app\.yaml.*)$", up.stdout, re.M)
    assert printed, up.stdout
    args = ["apply", *printed.group(1).split(), "--json", *EXTRA]
    try:
        first, first_s = cli(*args)
        noops = [cli(*args) for _ in range(runs)]
        lab = sandbox.practice.load(sandbox.lab_dir(name))
        assert lab is not None
        page = subprocess.run(["curl", "-s", "--cacert", str(lab.ca_file), "--resolve",
                               f"demo.example.test:443:{box.ip}", "https://demo.example.test/"],
                              capture_output=True, text=True).stdout
        on(box, "systemctl start demo-health.service")
        return {
            **summarise((first, first_s), noops),
            "page": "Hello from deploy-wizard" in page,
            "health": on(box, "systemctl show -p Result --value demo-health.service"),
            "ups": on(box, "curl -s 127.0.0.1:9113/metrics | grep ^nginx_up; curl -s 127.0.0.1:9187/metrics | "
                           "grep ^pg_up").replace("\n", ", "),
            "python": on(box, "/srv/demo/venv/bin/python --version"),
        }
    finally:
        if not keep:
            sandbox.down(name, progress=lambda _m: None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="no-op re-applies per release (min / median / max)")
    parser.add_argument("--release", action="append", choices=list(sandbox.RELEASES), help="default: all")
    parser.add_argument("--keep", action="store_true", help="leave the sandboxes running")
    args = parser.parse_args()
    releases = args.release or list(sandbox.RELEASES)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"commit {commit}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results = {release: run_release(release, args.runs, args.keep) for release in releases}
    steps = list(next(iter(results.values()))["first"])  # type: ignore[call-overload]
    print(f"\n{'step':14}" + "".join(f"{sandbox.describe(r) + ' first / no-op':>44}" for r in releases))
    for step in steps:
        cells = "".join(f"{str(res['first'].get(step, '-')) + ' / ' + str(res['noop'].get(step, '-')):>44}"  # type: ignore[union-attr]
                        for res in results.values())
        print(f"{step:14}{cells}")
    for release, res in results.items():
        spread = " / ".join(f"{s:.2f}" for s in res["noop_s"])  # type: ignore[attr-defined]
        print(f"\n{sandbox.describe(release)}: first apply {res['first_s']:.1f} s (ok: {res['ok']}), no-op re-apply "
              f"{spread} s (min / median / max of {args.runs}; changes per re-apply: {res['noop_changes']}); "
              f"site answers: {res['page']}; health check: {res['health']}; {res['ups']}; {res['python']}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
