"""The core must work without the UI libraries: headless replays, CI and exports never load textual.

import-linter (pyproject.toml) checks the imports as written; this test checks them as they run: importing
every module under wizard/ and recipes/ loads neither textual, questionary nor screens. No allowlist: the
CLI reaches the screens only lazily, inside the handlers that need them.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import recipes
import wizard
from tests.conftest import ROOT


def core_modules() -> list[str]:
    names = []
    for package in (wizard, recipes):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return sorted(names)


def test_core_modules_exist() -> None:
    expected = {"wizard.cli", "wizard.engine.runner", "wizard.engine.transports.ssh", "recipes.os_updates.step"}
    assert expected <= set(core_modules())


def test_core_imports_without_textual_or_questionary() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'questionary', 'screens'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
