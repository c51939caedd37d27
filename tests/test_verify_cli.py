"""`deploy-wizard verify FILE`: the teaching's checks on the server, a line each, exit 0 only when all pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, env_with
from tests.fakes import scripted
from wizard.cli import main
from wizard.engine.transports.base import Result

EXAMPLE = str(ROOT / "examples" / "flask-app.yaml")


def failing_nginx(line: str) -> Result:
    return Result(1, "", "nginx: configuration file /etc/nginx/nginx.conf test failed\n") if "nginx -t" in line \
        else Result(0, "fine\n", "")


def test_a_failed_check_shows_its_answer_and_exits_1(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(answer=failing_nginx))
    assert main(["verify", EXAMPLE]) == 1
    out, err = capsys.readouterr()
    assert "✗ nginx: sudo nginx -t  (exit 1)\n    nginx: configuration file /etc/nginx/nginx.conf test failed" in out
    assert "✓ os_updates: cat /etc/os-release\n✓" in out  # a passing check's answer only with --verbose
    assert "checks passed" in out.splitlines()[-1]
    assert "for your own machine: python3 --version" in err


def test_all_passing_exits_0_and_verbose_shows_every_answer(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(user="root"))
    assert main(["verify", EXAMPLE, "--verbose"]) == 0
    out, _err = capsys.readouterr()
    assert "✓ nginx: nginx -t\n    ok" in out  # root: no sudo


def test_help_is_translated() -> None:
    shown = subprocess.run([sys.executable, "-m", "wizard", "--lang", "zh_CN", "verify", "--help"], cwd=ROOT,
                           capture_output=True, text=True, env=env_with(DEPLOY_WIZARD_LANG="zh_CN"))
    assert shown.returncode == 0 and "全部通过时退出码为 0" in shown.stdout
