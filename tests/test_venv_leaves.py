"""A dry run on a server whose release is there but whose venv is gone (deleted, or rebuilt for another Python):
the code step plans the install into the venv the python step will make, instead of refusing with "add the
python step before code" while the python step is in the recipe (found in a new user's trial)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.test_step_cases import context, fact_values
from wizard.app import registry
from wizard.engine.facts import FactValues, PathInfo
from wizard.engine.step import Change, PlanError, RunCommand

CASES = Path(__file__).parent / "cases"


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_code_step_installs_into_the_venv_the_python_step_plans(installer: str) -> None:
    python = registry.step("python")
    fresh = yaml.safe_load((CASES / "python" / "debian13_fresh_with_uv.yaml").read_text())
    settings = python.Settings.model_validate({"installer": installer})
    ctx = replace(context(fresh), others={"python": settings})
    made = next(change for change in python.plan(settings, fact_values(fresh["facts"]), ctx)
                if isinstance(change, RunCommand) and "create the virtual environment" in change.why)
    left = {fact.key: value for fact, value in made.leaves}
    assert left[PathInfo("/srv/shop/venv/bin/pip").key]["owner"] == "shop"

    code = registry.step("code")
    case = yaml.safe_load((CASES / "code" / "hashed_requirements_are_checked.yaml").read_text())
    facts = dict(fact_values(case["facts"]).items())
    facts["path:/srv/shop/venv/bin/pip"] = None  # the venv is gone: only the python step's plan brings it
    code_settings = code.Settings.model_validate(case["settings"])
    code_ctx = replace(context(case), others={"python": settings, "code": code_settings})
    with pytest.raises(PlanError, match="there is no virtual environment"):
        list(code.plan(code_settings, FactValues(facts), code_ctx))
    facts.update(left)
    planned = [c.describe() for c in code.plan(code_settings, FactValues(facts), code_ctx) if isinstance(c, Change)]
    assert any("install" in line and "requirements.txt" in line for line in planned), planned


def test_the_install_says_whether_the_venv_had_nothing_or_other_versions_of_the_files() -> None:
    """A new venv (the first release, or one made anew: the marker lives in it) is not a changed file."""
    code = registry.step("code")
    case = yaml.safe_load((CASES / "code" / "hashed_requirements_are_checked.yaml").read_text())
    settings = code.Settings.model_validate(case["settings"])
    ctx = context(case)
    facts = dict(fact_values(case["facts"]).items())

    def why() -> list[str]:
        return [c.why for c in code.plan(settings, FactValues(facts), ctx) if isinstance(c, RunCommand)]

    assert why() == ["install the requirements (nothing from requirements.txt is in this venv yet)"]
    facts.update(fact_values({"files": {"/srv/shop/venv/.deploy-wizard-requirements": {
        "content": "an older hash\n", "owner": "shop", "group": "shop"}}}).items())
    assert why() == ["install the requirements (requirements.txt changed)"]
