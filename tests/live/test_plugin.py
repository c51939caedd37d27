"""A step package of your own, live: built as a wheel, installed beside a NON-editable deploy-wizard wheel in
a fresh venv, applied to a server twice (the second apply changes nothing), then uninstalled (a recipe that
uses it is refused with exit 2, naming the step). Proves the registry needs no change to the application."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.live.conftest import on_box, write_recipe

PLUGIN = ROOT / "examples" / "step-plugin"


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run outside the checkout: `python -c` puts the working directory first on sys.path."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, cwd="/")


def test_a_step_package_plugs_in_and_out(box, live_dirs) -> None:
    wheels, venv = live_dirs / "wheels", live_dirs / "venv"
    for source in (ROOT, PLUGIN):
        built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source)
        assert built.returncode == 0, built.stderr[-2000:]
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = run(venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "-c",
                    ROOT / "constraints.txt", *sorted(wheels.glob("*.whl")))
    assert installed.returncode == 0, installed.stderr[-2000:]
    tool = venv / "bin" / "deploy-wizard"
    where = run(venv / "bin" / "python", "-c", "import wizard; print(wizard.__file__)")
    assert str(venv) in where.stdout, "the wheel, not this checkout, must be tested"
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en"}
    env.pop("PYTHONPATH", None)
    recipe = write_recipe(live_dirs / "motd.yaml", box, "  motd:\n    message: 'Live plugin test: hands off.'\n")

    assert '"motd"' in run(tool, "schema", env=env).stdout
    assert "Login message" in run(tool, "export", recipe, env=env).stdout  # the runbook
    first = run(tool, "apply", recipe, "--yes", env=env)
    assert first.returncode == 0 and "1 change" in first.stdout, first.stdout[-3000:] + first.stderr[-2000:]
    assert on_box(box, "cat /etc/motd").stdout.startswith("Live plugin test: hands off.\nThis server runs live")
    second = run(tool, "apply", recipe, "--yes", env=env)
    assert second.returncode == 0 and "0 changes" in second.stdout, second.stdout[-3000:]

    assert run(venv / "bin" / "pip", "uninstall", "-y", "-q", "deploy-wizard-motd").returncode == 0
    refused = run(tool, "plan", recipe, env=env)
    assert refused.returncode == 2
    assert "steps.motd: no step named motd is installed" in refused.stderr, refused.stderr
