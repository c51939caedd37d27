"""Data-driven fact cases: what a command really prints on a server -> the value a step's plan reads.

Why: a plan is only as right as its facts, and a parse that misreads one real output (a held package, an
annotated tag, a stopped database) plans the wrong change on every run. Each case pins one output as Debian
12/13 or Ubuntu 24.04 print it - absent, present, error - to the parsed value, without a server.

Cases live in tests/cases/facts/<module>.yml, one file per facts module. The extension is .yml, not .yaml,
because tests/test_step_cases.py reads every tests/cases/*/*.yaml as the case of a step.

A case: `fact` (import path, module:Class), `args` (constructor arguments; lists become tuples), `why` (one
line), `out` (the command's stdout on the server, as printed), `status` (its exit status) and `value` (the
parsed value, in plain YAML: dataclasses as mappings, bytes as text, tuples as lists, sets as sorted lists).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import recipes
import wizard
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FactGatherer
from wizard.engine.transports.local import LocalTransport

CASES_DIR = Path(__file__).parent / "cases" / "facts"
CASE_FILES = sorted(CASES_DIR.glob("*.yml"))
KEYS = {"fact", "args", "why", "out", "status", "value"}
REQUIRED = KEYS - {"args"}


def load_cases() -> list[Any]:
    """Every case of every file, as pytest params named file-index-Class (stable, greppable)."""
    params = []
    for path in CASE_FILES:
        for index, case in enumerate(yaml.safe_load(path.read_text()) or []):
            name = str(case.get("fact", "?")).rpartition(":")[2]
            params.append(pytest.param(case, id=f"{path.stem}-{index:02d}-{name}"))
    return params


CASES = load_cases()


def tuples(value: Any) -> Any:
    """YAML has lists only; fact fields are tuples (hashable, frozen)."""
    if isinstance(value, list):
        return tuple(tuples(item) for item in value)
    return value


def build(case: dict[str, Any]) -> Fact:
    """The fact a case names, built with its args: a typo in a field name fails here, not silently."""
    module_name, _, class_name = case["fact"].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert isinstance(cls, type) and issubclass(cls, Fact), f"{case['fact']} is not a Fact"
    return cls(**{name: tuples(value) for name, value in (case.get("args") or {}).items()})


def plain(value: Any) -> Any:
    """A parsed value in the shapes YAML can write, so cases compare with ==."""
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, set | frozenset):
        return sorted(plain(item) for item in value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def as_gathered(stdout: str) -> str:
    """What FactGatherer hands `parse` for this stdout: the stream split into lines, the separator echo's
    empty line dropped (test_gatherer_hands_parse_stdout_and_status checks this against the real gatherer)."""
    lines = (stdout + "\n").splitlines()
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES)
def test_fact_case(case: dict[str, Any]) -> None:
    assert set(case) <= KEYS and REQUIRED <= set(case), f"case keys {sorted(case)}: want {sorted(KEYS)}"
    assert "\n" not in case["why"].strip(), "why is one line"
    fact = build(case)
    assert plain(fact.parse(as_gathered(case["out"]), case["status"])) == case["value"]


@pytest.mark.parametrize("case", CASES)
def test_case_names_a_fact_with_a_key(case: dict[str, Any]) -> None:
    fact = build(case)
    assert fact.key == fact.kind or fact.key.startswith(fact.kind + ":")
    assert isinstance(fact.command(), Command)


def all_fact_classes() -> set[str]:
    """Every Fact subclass defined under wizard/ and recipes/ (each module imported, subclasses walked)."""
    for package in (wizard, recipes):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith(".__main__"):  # runs the CLI when imported
                importlib.import_module(info.name)
    found: set[str] = set()
    todo = list(Fact.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("wizard", "recipes"):
            found.add(f"{cls.__module__}:{cls.__qualname__}")
    return found


def test_every_fact_has_a_case() -> None:
    classes = all_fact_classes()
    assert len(classes) >= 20, sorted(classes)  # the walk itself works
    covered = {param.values[0]["fact"] for param in CASES}
    assert not classes - covered, f"facts without a case: {sorted(classes - covered)}"
    assert not covered - classes, f"cases naming no fact: {sorted(covered - classes)}"


def test_fact_cases_stay_out_of_the_step_cases() -> None:
    assert CASE_FILES, "no fact cases found"
    misplaced = sorted(p.name for p in CASES_DIR.glob("*.yaml"))
    assert not misplaced, f"{misplaced}: name fact cases .yml (tests/test_step_cases.py reads */*.yaml as steps)"


class _Print(Fact):
    """A fact printing given bytes and exiting with a given status (test only; not in the coverage walk)."""

    root = False
    kind = "test-print"

    def __init__(self, text: str, status: int) -> None:
        self.text, self.status = text, status

    @property
    def key(self) -> str:
        return f"test-print:{self.text!r}:{self.status}"

    def command(self) -> Command:
        return sh('printf "%s" "$1"; exit "$2"', self.text, str(self.status))

    def parse(self, out: str, status: int) -> tuple[str, int]:
        return out, status


async def test_gatherer_hands_parse_stdout_and_status() -> None:
    """The cases feed parse through `as_gathered`; the real gatherer must hand over the same text and the
    fragment's own exit status (a stopped PostgreSQL is told apart from an empty one by that status alone)."""
    outputs = [("", 0), ("absent\n", 0), ("a\nb\n", 0), ("no newline", 1), ("644 root root 0\nabc\n\n", 0),
               ("", 2), ("x\n", 127)]
    facts = [_Print(text, status) for text, status in outputs]
    transport = LocalTransport()
    await transport.connect()
    values = await FactGatherer(transport).gather(facts)
    assert [values[fact] for fact in facts] == [(as_gathered(text), status) for text, status in outputs]
