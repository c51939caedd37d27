"""The shape the architecture promises (README.md, "Architecture"), checked where a linter cannot.

The import layers themselves are import-linter contracts in pyproject.toml (`lint-imports`, run by .ci/run);
this file holds what they cannot say: module size, one folder per step, and every step found by name.
"""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT
from wizard.app import registry

MAX_LINES = 400


def test_no_module_over_400_lines() -> None:
    files = subprocess.run(["git", "ls-files", "*.py"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    files += subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "*.py"], capture_output=True,
                            text=True, cwd=ROOT).stdout.split()
    long = {name: n for name in files if (ROOT / name).exists()
            and (n := len((ROOT / name).read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_every_built_in_step_is_one_folder_named_after_it() -> None:
    for step in registry.steps():
        module = type(step).__module__
        if not module.startswith("recipes."):
            continue  # a step package of someone else's
        folder = ROOT / "recipes" / step.name
        assert module == f"recipes.{step.name}.step", module
        assert (folder / "locale" / "zh_CN.json").exists(), f"{step.name}: its own catalog"
        assert (ROOT / "tests" / "cases" / step.name).is_dir(), f"{step.name}: its plan cases"
