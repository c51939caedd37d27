"""A `prompt` secret on the terminal: asked in its step's words, once per command, twice when the run sets it."""

from __future__ import annotations

import argparse
import getpass

import pytest

from tests.conftest import ROOT
from wizard.app.recipefile import load, with_overrides
from wizard.cli import common


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The prompts getpass showed; the answers come from `answers` in order."""
    shown: list[str] = []
    answers = iter(["first", "second", "s3cret", "s3cret"])
    monkeypatch.setattr(common, "interactive", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: (shown.append(prompt), next(answers))[1])
    return shown


def test_a_new_password_is_asked_in_its_steps_words_twice_until_both_match_and_then_once(
        typed: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    recipe = with_overrides(load(ROOT / "examples" / "flask-app.yaml"), ["database.password=prompt"])
    asked = common.questions(argparse.Namespace(json=False, accept_new_host_key=False), recipe)
    assert asked.secret is not None
    assert asked.secret("database.password") == "s3cret"
    assert asked.secret("database.password") == "s3cret"  # the plan's answer serves the run
    assert len(typed) == 4  # a pair that differed, then a pair that matched
    assert "database.password" not in typed[0] and typed[1] == "the same again: "
    said = capsys.readouterr().err
    assert "(database.password)" in said and "The two entries differ" in said


def test_without_the_recipe_the_label_is_the_prompt(typed: list[str]) -> None:
    asked = common.questions(argparse.Namespace(json=False, accept_new_host_key=False))
    assert asked.secret is not None and asked.secret("target.sudo_password") == "first"
    assert typed == ["target.sudo_password: "]


def test_a_kept_password_is_typed_twice_too(typed: list[str]) -> None:
    """Finding of the third trial: with password_policy: keep it was asked once, yet a role not there yet is
    created with it; now a typo is caught by the second entry, on the command line as in the wizard."""
    recipe = with_overrides(load(ROOT / "examples" / "flask-app.yaml"),
                            ["database.password=prompt", "database.password_policy=keep"])
    asked = common.questions(argparse.Namespace(json=False, accept_new_host_key=False), recipe)
    assert asked.secret is not None and asked.secret("database.password") == "s3cret"
    assert len(typed) == 4 and typed[1] == typed[3] == "the same again: "
