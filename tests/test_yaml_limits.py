"""Operator YAML (recipes, drafts, inventories) is read with limits: an alias bomb is refused at once, by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.app.draft import Draft
from wizard.app.fleet import InventoryError, read_inventory
from wizard.app.recipefile import RecipeError, parse
from wizard.cli import main
from wizard.engine import safe_yaml


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level is nine aliases of the one before, 9**9 values once expanded."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BOMB_RECIPE = "version: 1\nname: demo\ntarget: {host: example.com}\n" + billion_laughs()


def test_a_billion_laughs_recipe_is_refused_before_it_expands_naming_the_line() -> None:
    with pytest.raises(RecipeError) as info:
        parse(BOMB_RECIPE, "bomb.yaml")
    [(line, _field, message)] = info.value.problems
    assert line == 6  # a1 holds nine aliases, a2 (line 6) the eleventh: refused there, before a2 is read
    assert "aliases" in message and "billion laughs" in message
    assert str(info.value).startswith("bomb.yaml:6: refused: more than 10 aliases")


def test_the_cli_refuses_it_with_exit_2_and_no_traceback(tmp_path, capsys) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB_RECIPE)
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bomb.yaml:6: refused" in err and "Traceback" not in err


def test_few_aliases_that_expand_hugely_are_refused_too() -> None:
    # ten aliases, five levels each doubling the last: within the alias limit, but 32 times a long list
    text = "a0: &a0 [" + ", ".join(["x"] * 4000) + "]\n"
    text += "".join(f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}]\n" for n in range(1, 6))
    with pytest.raises(safe_yaml.YAMLLimitError, match="expands to more than 100000 values"):
        safe_yaml.load(text)


def test_a_recursive_alias_and_deep_nesting_are_refused() -> None:
    with pytest.raises(safe_yaml.YAMLLimitError, match="recursive"):
        safe_yaml.load("a: &a [x, *a]\n")
    with pytest.raises(safe_yaml.YAMLLimitError, match="nested more than"):
        safe_yaml.load("[" * 5000 + "]" * 5000)
    with pytest.raises(RecipeError, match="nested more than"):
        parse("[" * 5000 + "]" * 5000)


def test_a_few_aliases_are_fine() -> None:
    text = ("version: 1\nname: demo\ntarget: {host: &h example.com}\n"
            "steps:\n  app_server: {}\n  nginx: {server_names: [*h]}\n  tls: {domain: *h, email: a@example.com}\n")
    recipe = parse(text)
    assert recipe.steps.nginx.server_names == ["example.com"] and recipe.steps.tls.domain == "example.com"


def test_an_inventory_bomb_is_refused(tmp_path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(billion_laughs() + "hosts: [web1]\n")
    with pytest.raises(InventoryError, match=r"hosts.yaml:3: not a usable inventory: more than 10 aliases"):
        read_inventory(path)
    path.write_text("hosts: [web1, [unclosed\n")
    with pytest.raises(InventoryError, match="hosts.yaml:2"):
        read_inventory(path)


def test_a_draft_bomb_is_refused(tmp_path) -> None:
    path = tmp_path / "draft.yaml"
    path.write_text("draft:\n  name: demo\n" + "".join("  " + line + "\n" for line in billion_laughs().splitlines()))
    with pytest.raises(RecipeError, match="refused: more than 10 aliases"):
        Draft.load(path)
    path.write_text("draft: [not, a, mapping]\n")
    with pytest.raises(RecipeError, match="a draft is a mapping"):
        Draft.load(path)


def test_what_we_write_never_holds_an_alias(tmp_path) -> None:
    keys = ["ssh-ed25519 AAAA x"]
    shared = {"a": keys, "b": keys}  # the same list twice: PyYAML would write &id001 / *id001
    assert "&" not in safe_yaml.dump(shared) and "*" not in safe_yaml.dump(shared)
    draft = Draft(name="demo", path=Path(tmp_path / "demo.yaml"))
    draft.target = {"host": "example.com"}
    draft.steps = {"os_updates": {"packages": keys}, "deploy_user": {"groups": []}}
    draft.steps["os_updates"]["extra"] = keys
    text = draft.autosave().read_text()
    assert "&id" not in text and "*id" not in text
