"""The README's setup on a stock Debian server (the sandbox: python3 without pip or venv, PEP 668): it must
leave `deploy-wizard` on PATH without touching the system's Python, and a second run must work too."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT
from tests.live.conftest import on_box
from wizard.lab import sandbox


def on_box_long(box: sandbox.SandboxInfo, command: str, stdin: bytes | None = None,
                timeout: float = 1200) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(sandbox.ssh_command(box.name, "root", [command]), capture_output=True, timeout=timeout,
                          input=stdin if stdin is not None else b"")


def checkout_tar() -> bytes:
    """This checkout as git sees it (tracked and new files, nothing ignored): what a clone would hold."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout
    existing = b"\0".join(f for f in files.split(b"\0") if f and (ROOT / f.decode()).exists())
    return subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=ROOT, input=existing, capture_output=True,
                          check=True).stdout


def test_readme_setup_on_a_stock_debian(box) -> None:
    stock = on_box(box, "python3 -m pip --version 2>&1; python3 -m venv /tmp/x 2>&1 | head -1")
    assert "No module named pip" in stock.stdout  # the server is as stock as Debian ships it

    copied = on_box_long(box, "mkdir -p /opt/deploy-wizard-src && tar -x -C /opt/deploy-wizard-src",
                         stdin=checkout_tar())
    assert copied.returncode == 0, copied.stderr[-2000:]
    first = on_box_long(box, "cd /opt/deploy-wizard-src && bash scripts/setup.sh")
    assert first.returncode == 0, (first.stdout[-3000:], first.stderr[-3000:])
    assert b"setup: done" in first.stdout

    help_text = on_box(box, "command -v deploy-wizard && deploy-wizard --help && "
                            "deploy-wizard schema | grep -c '\"[$]schema\"'")
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("/usr/local/bin/deploy-wizard")
    assert "Provision a fresh Linux server" in help_text.stdout and help_text.stdout.rstrip().endswith("\n1")
    untouched = on_box(box, "python3 -c 'import wizard' 2>&1; python3 -m pip --version 2>&1")
    assert "No module named 'wizard'" in untouched.stdout and "No module named pip" in untouched.stdout

    again = on_box_long(box, "cd /opt/deploy-wizard-src && bash scripts/setup.sh")
    assert again.returncode == 0 and b"setup: done" in again.stdout
