"""The alert rules (issue 20, 5.2) as the monitoring step writes them: `promtool check rules` accepts them and
`promtool test rules` (tests/alerts/deploy-wizard-rules.test.yml) proves each alert fires on the series that
should raise it, only after its `for:`, and not on healthy ones. The file tested is the golden file of the
template, which tests/test_golden_configs.py keeps equal to what a server gets.

promtool comes with Debian's prometheus package (scripts/setup.sh --test installs it); CI requires it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

RULES = ROOT / "snapshots" / "config" / "monitoring" / "etc" / "prometheus" / "deploy-wizard-rules.yml"
TESTS = ROOT / "tests" / "alerts" / "deploy-wizard-rules.test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") or os.environ.get("DEPLOY_WIZARD_REQUIRE_LIVE") == "1":
            pytest.fail("promtool is missing: scripts/setup.sh --test installs Debian's prometheus package")
        pytest.skip("promtool is not installed (scripts/setup.sh --test installs it)")
    return found


def test_promtool_accepts_the_rules(promtool: str) -> None:
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS: 6 rules found" in checked.stdout, checked.stdout + checked.stderr


def test_each_alert_fires_when_it_should_and_only_then(promtool: str) -> None:
    tested = subprocess.run([promtool, "test", "rules", str(TESTS)], capture_output=True, text=True)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
