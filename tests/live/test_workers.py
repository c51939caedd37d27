"""Issue 16, items 1 and 3, live: the example Flask app with Redis and a real RQ worker (examples/flask-app:
worker.py, tasks.py), on one sandbox, proven the way a user sees it.

A web request queues a job; the worker runs it and its result, read back through the web, is the release the
worker ran. Three instances are three processes. A second apply changes nothing. A worker stopped by hand, and
one taken out of the recipe, are what `check` reports. The next release, shipped the way CI does
(`deploy --ref`), moves the workers onto the new code (the job answers with the new release), stops the
removed worker and its unit, and its restart stops a worker busy with a long job the way the recipe says:
TERM first (RQ's warm shutdown), killed after its stop timeout, both read from the journal.
`deploy-wizard rollback` moves them back with the web. Redis refuses a wrong password and no password. The
password is in no output.

Debian 13 in CI; DEPLOY_WIZARD_WORKERS_RELEASE=bookworm runs the whole module on Debian 12 (bench/live_full.py
workers sets it).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git, git_daemon, make_repo
from wizard.lab import sandbox

PASSWORD = "live-redis-Secret-4711"
ENV = {"LIVE_REDIS_PASSWORD": PASSWORD}
SOCKET = "/run/live/gunicorn.sock"  # write_recipe names the app `live`


@pytest.fixture(scope="module")
def release() -> sandbox.Release:
    """Debian 13 in CI; DEPLOY_WIZARD_WORKERS_RELEASE=bookworm runs the whole module (Redis, RQ workers) on
    Debian 12."""
    wanted = os.environ.get("DEPLOY_WIZARD_WORKERS_RELEASE", sandbox.DEFAULT_RELEASE)
    assert wanted in sandbox.RELEASES, f"DEPLOY_WIZARD_WORKERS_RELEASE: {wanted} is not one of {sandbox.RELEASES}"
    return wanted  # type: ignore[return-value]


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "jobs")
    with git_daemon(bare.parent, box.host_ip) as git_url:
        yield {"work": work, "bare": bare, "url": f"{git_url}/jobs.git", "recipe": live_dirs / "jobs.yaml"}


def recipe(box, lab, *, extra_worker: bool) -> Path:
    extra = "      extra: python worker.py extra\n" if extra_worker else ""
    return write_recipe(lab["recipe"], box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates, curl]
  deploy_user:
    name: jobs
  python: {{}}
  redis:
    password: env:LIVE_REDIS_PASSWORD
    maxmemory: 64mb
  code:
    repo: {lab["url"]}
  app_server:
    module: app:app
    health_path: /health
    watch: 2
    env: {{GREETING: hello}}
  workers:
    processes:
      default: python worker.py default
{extra}    instances: {{default: 3}}
    stop_timeout: {{default: 4}}
""")


def run(live_dirs, *args: str) -> subprocess.CompletedProcess[str]:
    result = cli(live_dirs, *args, env=ENV, timeout=1500)
    assert PASSWORD not in result.stdout + result.stderr  # masked everywhere, plans included
    return result


def apply(live_dirs, path: Path) -> subprocess.CompletedProcess[str]:
    result = run(live_dirs, "apply", str(path), "--yes", "--json")
    failures = [e for e in events(result) if e["event"] == "step_failed"]
    assert result.returncode == 0 and finished(result)["ok"], (failures, result.stdout[-4000:], result.stderr[-2000:])
    return result


def http(box, method: str, path: str) -> str:
    answer = on_box(box, f"curl -sS -m 20 -X {method} --unix-socket {SOCKET} http://localhost{path}")
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip()


def job_result(box, sleep: float = 0, wanted: str = "finished") -> str:
    """Queue a job through the web and wait (with a deadline, not a timing assertion) for its state."""
    job = http(box, "POST", f"/jobs?sleep={sleep}")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = http(box, "GET", f"/jobs/{job}")
        if state.startswith(wanted):
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job} never reached {wanted}: {state}")


def worker_pids(box, name: str, count: int) -> set[str]:
    units = " ".join(f"live-worker-{name}@{i}" for i in range(1, count + 1))
    pids = on_box(box, f"for u in {units}; do systemctl show -P MainPID $u; done").stdout.split()
    return {pid for pid in pids if pid != "0"}


def test_workers_follow_the_web_release(box, live_dirs, lab, release) -> None:
    assert on_box(box, ". /etc/os-release && echo $VERSION_CODENAME").stdout.strip() == release
    first = recipe(box, lab, extra_worker=True)
    apply(live_dirs, first)
    release_a = http(box, "GET", "/release")
    assert job_result(box) == f"finished {release_a}"
    pids = worker_pids(box, "default", 3)
    assert len(pids) == 3, pids
    commands = on_box(box, "ps -o user=,args= -p " + ",".join(pids)).stdout.splitlines()
    assert sorted(commands) == ["jobs     python worker.py default"] * 3, commands
    assert on_box(box, "systemctl is-active live-worker-extra@1").stdout.strip() == "active"

    again = apply(live_dirs, first)
    assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change_started"]

    # Redis: a wrong password and no password are refused
    wrong = on_box(box, "redis-cli -p 6379", stdin="AUTH not-the-password\nPING\n").stdout
    assert "WRONGPASS" in wrong and "NOAUTH" in wrong, wrong
    assert "NOAUTH" in on_box(box, "redis-cli -p 6379 PING").stdout

    # drift: one instance stopped by hand, and the extra worker no longer in the recipe
    on_box(box, "systemctl stop live-worker-default@2")
    second = recipe(box, lab, extra_worker=False)
    drift = run(live_dirs, "check", str(second))
    assert drift.returncode == 3, drift.stdout[-3000:]
    assert "start worker default (1 process)" in drift.stdout, drift.stdout[-3000:]
    assert "worker extra runs (1 process) but is not in the recipe" in drift.stdout, drift.stdout[-3000:]

    # a long job is running when the next release restarts the workers
    job_result(box, sleep=600, wanted="started")
    assert on_box(box, "systemctl show -P TimeoutStopUSec live-worker-default@1").stdout.strip() == "4s"
    since = on_box(box, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    (lab["work"] / "message.txt").write_text("release B\n")
    git("commit", "-q", "-am", "release B", cwd=lab["work"])
    git("push", "-q", str(lab["bare"]), "main", cwd=lab["work"])
    shipped = run(live_dirs, "deploy", str(second), "--ref", "main", "--json")  # as CI ships it: release steps only
    assert shipped.returncode == 0 and finished(shipped)["ok"], (shipped.stdout[-4000:], shipped.stderr[-2000:])
    release_b = http(box, "GET", "/release")
    assert release_b != release_a
    assert job_result(box) == f"finished {release_b}"
    assert len(worker_pids(box, "default", 3)) == 3
    log = on_box(box, f"journalctl -u 'live-worker-default@*' --since '{since}' --no-pager -o cat").stdout
    assert "warm shut down requested" in log.lower(), log[-3000:]  # TERM first: RQ waits for its job
    assert "State 'stop-sigterm' timed out. Killing." in log, log[-3000:]  # then its 4 s are up
    # the removed worker: no process, no unit
    gone = on_box(box, "systemctl list-units --all --plain --no-legend 'live-worker-extra@*'; "
                       "ls /etc/systemd/system/live-worker-extra@.service").stdout
    assert gone.strip() == "", gone
    assert run(live_dirs, "check", str(second)).returncode == 0

    # a rollback moves the workers back with the web
    back = run(live_dirs, "rollback", str(second), "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Background workers: restarted on release" in back.stdout, back.stdout
    assert http(box, "GET", "/release") == release_a
    assert job_result(box) == f"finished {release_a}"
