"""Data-driven step cases: settings + facts (as a host would report them) -> the exact changes planned.

Each YAML file under tests/cases/<step>/ is one host situation: Debian 12, Ubuntu 22.04 and 24.04 fact sets,
fresh and converged hosts, hand-edited files. No server is needed, so every branch of a plan is cheap to pin.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from recipes.deploy_user.facts import UserState
from wizard.app import registry
from wizard.engine.commands import Secret
from wizard.engine.facts import FactValues, FileState
from wizard.engine.step import Change, Context, Later, Ok, PlanError, PutFile, WaitForOperator, Warn

CASES = sorted((Path(__file__).parent / "cases").glob("*/*.yaml"))


def fact_values(spec: dict[str, Any]) -> FactValues:
    values: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "packages":
            values["packages:" + ",".join(sorted(value))] = value
        elif key == "files":
            for path, state in value.items():
                values["file:" + path] = None if state is None else FileState(
                    hashlib.sha256(state["content"].encode()).hexdigest(), state.get("mode", "644"),
                    state.get("owner", "root"), state.get("group", "root"), len(state["content"].encode()),
                    state["content"].encode())
        elif key == "paths":
            for path, state in value.items():
                values["path:" + path] = state
        elif key == "users":
            for name, state in value.items():
                values["user:" + name] = None if state is None else UserState(
                    name, state["uid"], state["gid"], state["home"], state["shell"], tuple(state["groups"]))
        elif key == "zones":
            for zone, exists in value.items():
                values["zone:" + zone] = exists
        else:
            values[key] = value
    return FactValues(values)


def describe(change: Change | Warn) -> str:
    if isinstance(change, Warn):
        return f"WARN: {change.text}"
    text = change.describe()
    if isinstance(change, PutFile):
        text += "\n" + ("(secret content)\n" if change.secret else change.content.decode())
    if isinstance(change, WaitForOperator):
        text = "WAIT: " + change.message
    if isinstance(change, Later):
        text = f"LATER: {change.why} ({change.reason})"
    return text


def context(case: dict[str, Any]) -> Context:
    spec = case.get("context") or {}
    others = {name: registry.step(name).Settings.model_validate(values)
              for name, values in (spec.get("others") or {}).items()}
    secrets = spec.get("secrets") or {}
    return Context(app=spec.get("app", "app"), user=spec.get("user", "deploy"), ssh_port=spec.get("ssh_port", 22),
                   login_user=spec.get("login_user"), step_through=spec.get("step_through", False),
                   others=others, steps={name: registry.step(name) for name in others},
                   secrets=lambda ref, label: Secret(label, secrets[ref]))


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    step = registry.step(path.parent.name)
    settings = step.Settings.model_validate(case.get("settings") or {})
    facts = fact_values(case.get("facts") or {})
    ctx = context(case)
    ctx = replace(ctx, others={**ctx.others, step.name: settings})  # a step sees itself among the others
    if "error" in case:
        with pytest.raises(PlanError, match=case["error"]):
            list(step.facts(settings, facts, ctx))
            list(step.plan(settings, facts, ctx))
        return
    # every fact the step asks for (in every round) must be in the case: no silent defaults
    asked = {f.key for f in step.facts(settings, facts, ctx)}
    missing = asked - set(facts)
    assert not missing, f"{path.name} lacks facts: {sorted(missing)}"
    items = list(step.plan(settings, facts, ctx))
    changes = [describe(i) for i in items if not isinstance(i, Ok)]
    if case.get("first_lines_only"):  # long rendered files are pinned by the golden files instead
        changes = [c.splitlines()[0] for c in changes]
    assert changes == case["changes"], "\n---\n".join(changes)
    if "ok" in case:
        assert [i.reason for i in items if isinstance(i, Ok)] == case["ok"]
    if "early" in case:  # which changes may run behind the steps before this one (wizard.engine.behind)
        assert [getattr(i, "early", False) for i in items if isinstance(i, Change)] == case["early"]


def test_there_are_cases_for_every_step() -> None:
    assert {p.parent.name for p in CASES} == set(registry.by_name())


# Changes no shell test can see as done: a role's password compared with a secret needs the SCRAM/native
# hash check deploy-wizard does locally. Exports run them only when the role is created (see wizard/export).
UNGUARDABLE = ("set the password of role",)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_every_change_can_be_replayed_idempotently(path: Path) -> None:
    """Exports (shell, Ansible) replay changes without the facts: each needs a guard or a preceding change."""
    case = yaml.safe_load(path.read_text())
    if "error" in case:
        return
    step = registry.step(path.parent.name)
    settings = step.Settings.model_validate(case.get("settings") or {})
    ctx = replace(context(case), others={**context(case).others, step.name: settings})
    for item in step.plan(settings, fact_values(case.get("facts") or {}), ctx):
        if isinstance(item, Ok | PutFile | Later | Warn) or item.why.startswith(UNGUARDABLE):
            continue  # a file write compares its content itself
        assert item.skip_if is not None or item.after_change, f"{item.why}: no skip_if, not after_change"
