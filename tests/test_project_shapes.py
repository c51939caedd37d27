"""The code step through the runner (issue 14, "the project as it is"): the fact rounds a release's shape needs
fit the runner's limit, and a dry run of a new release lists exactly one install and one build as decided at
run time, however many passes it makes. The host situations are the step cases' own (tests/cases/code)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from recipes.code.step import Code
from tests.test_step_cases import context, fact_values
from wizard.engine.ahead import MAX_FACT_ROUNDS
from wizard.engine.facts import Fact, FactGatherer
from wizard.engine.runner import Runner
from wizard.engine.step import RunCommand
from wizard.engine.transports.base import Transport
from wizard.engine.transports.local import LocalTransport

CASES = Path(__file__).parent / "cases" / "code"


class CaseFacts(FactGatherer):
    """Answers from a step case's facts, counting the rounds (one command each on a real server)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(LocalTransport())
        self.values = values
        self.rounds = 0

    async def _ask_merged(self, facts: list[Fact], transport: Transport) -> dict[str, Any]:
        """Each fact as the case gives it (a real gather merges files and paths into one command each)."""
        self.rounds += 1
        return {fact.key: self.values[fact.key] for fact in facts}


def runner_for(name: str) -> tuple[Runner, Code, Any, CaseFacts]:
    case = yaml.safe_load((CASES / f"{name}.yaml").read_text())
    step = Code()
    settings = step.Settings.model_validate(case["settings"])
    runner = Runner(LocalTransport(), [(step, settings)], lambda event: None, ctx=context(case))
    runner.facts = CaseFacts(dict(fact_values(case["facts"])))
    return runner, step, settings, runner.facts


def test_a_checked_out_poetry_release_is_planned_within_the_fact_rounds() -> None:
    runner, step, settings, facts = runner_for("poetry_lock_installs_with_poetry")
    plan = asyncio.run(runner.plan_step(step, settings))
    assert facts.rounds <= MAX_FACT_ROUNDS
    assert [change.describe().split(" && ")[-1].split()[-1] for change in plan.changes] == [
        "/srv/shop/shared/tools", "'poetry>=2,<3'", "--no-ansi"]


def test_a_dry_run_of_a_new_release_leaves_one_install_and_one_build_to_run_time() -> None:
    runner, step, settings, _facts = runner_for("build_waits_for_the_checkout")
    plan = asyncio.run(runner.plan_ahead(step, settings))
    assert [(later.why, later.reason) for later in plan.later] == [
        ("install the requirements", "what to install is read from the release after the checkout (uv.lock, "
                                     "poetry.lock, requirements.txt, pyproject.toml)"),
        ("run the build", "npm ci && npm run build runs in the release after the checkout")]
    installs = [c for c in plan.changes if isinstance(c, RunCommand) and "apt-get" in c.describe()]
    assert len(installs) == 1 and "nodejs npm" in installs[0].describe()
