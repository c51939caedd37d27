"""Live tests: a real Debian server (systemd, sshd, apt) booted with `wizard.lab.sandbox` for each module.

Every module runs on Debian 13 (the default release). A module whose whole stack must work on every supported
release overrides the `release` fixture with `params=RELEASES` (see test_full_stack.py): its tests then run once
per release, each release on its own fresh sandbox.

Skipped with the reason on machines that cannot run a sandbox (not root, no systemd-nspawn), except when
DEPLOY_WIZARD_REQUIRE_LIVE=1 (CI sets it): then a missing sandbox is a failure, never a silent skip.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from wizard.lab import sandbox


@pytest.fixture(scope="module")
def live_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="module")
def release() -> sandbox.Release:
    """The Debian release of the module's sandbox."""
    return sandbox.DEFAULT_RELEASE


RELEASES = list(sandbox.RELEASES)

# The live modules that take longest (CI's --durations on this machine: 2 to 10 minutes each), longest first:
# CI's two lanes start them first (tests/conftest.py orders the run), and the short ones fill the end. Scheduling
# only: a module not listed runs after these, and the order decides nothing about what a test sees.
LONGEST_FIRST = (
    "test_full_stack", "test_exports", "test_release_switch", "test_two_apps", "test_project_shapes", "test_django",
    "test_learn", "test_backups", "test_observe", "test_server_faults", "test_faults", "test_fresh_plan",
    "test_fleet", "test_workers", "test_container_export",
)


def require_sandbox() -> None:
    """Skip on a machine that cannot run a sandbox, with the reason; fail instead where CI requires them."""
    try:
        sandbox.check_host()
    except sandbox.SandboxError as exc:
        if os.environ.get("DEPLOY_WIZARD_REQUIRE_LIVE") == "1":
            pytest.fail(f"live tests are required here but cannot run: {exc}")
        pytest.skip(f"no sandbox on this machine: {exc}")


def boot(live_dirs: Path, release: sandbox.Release = sandbox.DEFAULT_RELEASE) -> sandbox.SandboxInfo:
    """A fresh sandbox whose host key the CLI (XDG_CONFIG_HOME under live_dirs) already trusts."""
    require_sandbox()
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(live_dirs / "config")  # the sandbox's key goes to this store
    try:
        return sandbox.up("t" + secrets.token_hex(4), progress=lambda m: print(m, flush=True), release=release)
    finally:
        if old is None:
            os.environ.pop("XDG_CONFIG_HOME")
        else:
            os.environ["XDG_CONFIG_HOME"] = old


@pytest.fixture(scope="module")
def box(live_dirs: Path, release: sandbox.Release) -> Iterator[sandbox.SandboxInfo]:
    info = boot(live_dirs, release)
    try:
        yield info
    finally:
        sandbox.down(info.name, progress=lambda m: None)


def cli(live_dirs: Path, *args: str, config: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(config or live_dirs / "config"),
                "XDG_STATE_HOME": str(live_dirs / "state"), "DEPLOY_WIZARD_LANG": "en", **(env or {})}
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, stdin=subprocess.DEVNULL, timeout=timeout)


def events(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def finished(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    found = [e for e in events(result) if e["event"] == "run_finished"]
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    return found[-1]


def on_box(box: sandbox.SandboxInfo, command: str, user: str = "root",
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sandbox.ssh_command(box.name, user, [command]), capture_output=True, text=True, timeout=120,
                          input=stdin if stdin is not None else "")


def write_recipe(path: Path, box: sandbox.SandboxInfo, steps: str, user: str = "admin", extra_target: str = "") -> Path:
    path.write_text(f"""version: 1
name: live
target:
  host: {box.ip}
  user: {user}
  key: {box.key}
{extra_target}steps:
{steps}""")
    return path
