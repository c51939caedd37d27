"""The recipe file: validation with line numbers, secrets as references only, atomic saves, schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from wizard.app.recipefile import Recipe, RecipeError, dump, json_schema, load, parse, save
from wizard.engine.secrets import SecretError, SecretResolver

GOOD = textwrap.dedent("""\
    version: 1
    name: shop
    target:
      host: web1.example.com
      port: 2222
      user: admin
      sudo_password: env:SHOP_SUDO
    steps:
      os_updates:
        timezone: Europe/Berlin
      deploy_user:
        name: shop
        groups: [www-data]
    """)


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(RecipeError) as info:
        parse(text, "r.yaml")
    return info.value.problems


def test_good_recipe_loads_with_defaults_and_runs_steps_in_build_order() -> None:
    recipe = parse(GOOD)
    assert recipe.target.port == 2222
    assert [step.name for step, _ in recipe.selected()] == ["os_updates", "deploy_user"]
    assert recipe.steps.os_updates.upgrade == "upgrade"  # default kept


def test_unknown_field_names_its_line() -> None:
    text = GOOD.replace("    timezone: Europe/Berlin", "    timezone: Europe/Berlin\n    tmiezone: x")
    [(line, field, message)] = problems(text)
    assert (line, field) == (11, "steps.os_updates.tmiezone")
    assert "unknown setting" in message


def test_a_step_that_is_not_installed_is_named_with_the_installed_ones() -> None:
    [(line, field, message)] = problems(GOOD + "  motd: {message: hello}\n")
    assert field == "steps.motd" and line == GOOD.count("\n") + 1
    assert message.startswith("no step named motd is installed (installed: goals, environment, os_updates, deploy_user")


def test_bad_value_names_line_field_and_what_is_allowed() -> None:
    [(line, field, message)] = problems(GOOD.replace("name: shop\n    groups", "name: 'Bad Name;'\n    groups"))
    assert (line, field) == (12, "steps.deploy_user.name")
    assert "not a valid user name" in message


def test_several_errors_are_all_reported() -> None:
    text = GOOD.replace("port: 2222", "port: 70000").replace("Europe/Berlin", "../../etc/passwd")
    found = {field: line for line, field, _ in problems(text)}
    assert found == {"target.port": 5, "steps.os_updates.timezone": 10}


def test_missing_required_field() -> None:
    [(line, field, message)] = problems("version: 1\ntarget:\n  port: 22\n")
    assert field == "target.host" and line == 2 and "missing" in message


def test_yaml_syntax_error_has_a_line() -> None:
    [(line, _field, message)] = problems("version: 1\ntarget:\n  host: [unclosed\n")
    assert line is not None and line >= 3 and "YAML" in message


@pytest.mark.parametrize("version", ["2", "'1'", "null"])
def test_wrong_version_is_refused(version: str) -> None:
    [(line, field, _)] = problems(GOOD.replace("version: 1", f"version: {version}"))
    assert (line, field) == (1, "version")


def test_not_a_mapping() -> None:
    assert problems("- just\n- a list\n")[0][2].startswith("a recipe file is a YAML mapping")


@pytest.mark.parametrize("literal", ["hunter2", "s3cret-password", "'env:'", "env:1BAD", "'file:'"])
def test_a_literal_secret_is_refused(literal: str) -> None:
    [(_line, field, message)] = problems(GOOD.replace("env:SHOP_SUDO", literal))
    assert field == "target.sudo_password" and "reference" in message


def test_secret_never_lands_in_the_saved_file(tmp_path) -> None:
    recipe = parse(GOOD)
    resolver = SecretResolver(environ={"SHOP_SUDO": "Tr0ub4dor&3-unique"})
    secret = resolver.resolve(recipe.target.sudo_password, "sudo")
    assert secret.reveal() == "Tr0ub4dor&3-unique"
    path = tmp_path / "out.yaml"
    save(recipe, path)
    text = path.read_text()
    assert "Tr0ub4dor" not in text
    assert "env:SHOP_SUDO" in text
    assert load(path) == recipe  # the round trip keeps everything else


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("old content\n")
    recipe = parse(GOOD)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save(recipe, path)
    assert path.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]


def test_dump_round_trips() -> None:
    recipe = parse(GOOD)
    assert parse(dump(recipe)) == recipe


def test_secret_resolution_errors_name_the_secret(tmp_path) -> None:
    resolver = SecretResolver(environ={})
    with pytest.raises(SecretError, match="SHOP_SUDO"):
        resolver.resolve("env:SHOP_SUDO", "target.sudo_password")
    with pytest.raises(SecretError, match="no terminal"):
        resolver.resolve("prompt", "target.sudo_password")
    with pytest.raises(SecretError, match="cannot read"):
        resolver.resolve(f"file:{tmp_path}/missing", "db")
    (tmp_path / "pw").write_text("from-file\n")
    assert resolver.resolve(f"file:{tmp_path}/pw", "db").reveal() == "from-file"


def test_schema_lists_every_step_and_forbids_unknown_keys() -> None:
    schema = json_schema()
    steps = schema["$defs"]["Steps"]["properties"]
    assert {"os_updates", "deploy_user"} <= set(steps)
    assert schema["$defs"]["Steps"]["additionalProperties"] is False
    assert schema["properties"]["version"]["const"] == 1


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DEPLOY_WIZARD_LANG": "en"}, stdin=subprocess.DEVNULL)


def test_cli_schema_prints_json() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "deploy-wizard recipe"


def test_cli_bad_file_exits_2_with_line_and_field(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("port: 2222", "port: nope"))
    result = run_cli("plan", str(path))
    assert result.returncode == 2
    assert f"{path}:5: target.port:" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_file_exits_2(tmp_path) -> None:
    result = run_cli("apply", str(tmp_path / "nope.yaml"), "--yes")
    assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_cli_apply_without_yes_and_without_terminal_refuses(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = run_cli("apply", str(path))
    assert result.returncode == 2 and "--yes" in result.stderr


def test_cli_bare_prints_help() -> None:
    result = run_cli()
    assert result.returncode == 0 and "usage: deploy-wizard" in result.stdout


def test_example_recipes_are_valid() -> None:
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        assert isinstance(load(path), Recipe)


def test_set_overrides_are_parsed_like_the_wizard_and_validated() -> None:
    from wizard.app.recipefile import with_overrides

    recipe = with_overrides(parse(GOOD), ["os_updates.timezone=UTC", "deploy_user.groups=www-data, adm",
                                          "os_updates.unattended_upgrades=yes", "target.port=2200", "name=shop2"])
    assert recipe.steps.os_updates.timezone == "UTC" and recipe.steps.os_updates.unattended_upgrades is True
    assert recipe.steps.deploy_user.groups == ["www-data", "adm"]
    assert (recipe.target.port, recipe.name) == (2200, "shop2")
    for bad, field in (("os_updates.timezone=$(id)", "steps.os_updates.timezone"), ("nope.x=1", "nope.x"),
                       ("deploy_user.nmae=x", "deploy_user.nmae"), ("justtext", "justtext")):
        with pytest.raises(RecipeError) as info:
            with_overrides(parse(GOOD), [bad])
        assert info.value.problems[0][1] == field


def test_a_list_or_map_typed_as_yaml_in_set_says_how_to_type_it() -> None:
    """`--set 'nginx.server_names=[a.test]'` (how a recipe file writes it) used to fail as "'[a.test]' is not a
    valid host name": true, but it did not say that the brackets were the problem."""
    from wizard.app.recipefile import with_overrides

    for bad, field in (("deploy_user.groups=[www-data, adm]", "deploy_user.groups"),
                       ("app_server.env={A: 1}", "app_server.env")):
        with pytest.raises(RecipeError) as info:
            with_overrides(parse(GOOD), [bad])
        assert info.value.problems[0][1:] == (field, "type it without brackets, " + (
            "values separated by commas, e.g. a, b" if "groups" in field else
            "NAME=value pairs separated by commas, e.g. A=1, B=2"))
    assert with_overrides(parse(GOOD), ["deploy_user.groups=www-data, adm"]).steps.deploy_user.groups == [
        "www-data", "adm"]


def test_cli_set_reaches_the_run(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    bad = run_cli("plan", str(path), "--set", "target.port=99999")
    assert bad.returncode == 2 and "--set: target.port:" in bad.stderr


def test_overrides_keep_an_explicit_null() -> None:
    from wizard.app.recipefile import with_overrides

    recipe = parse(GOOD + "  code: {repo: 'https://git.example.com/x.git', requirements: null}\n")
    assert recipe.steps.code.requirements is None
    assert with_overrides(recipe, ["code.ref=v1"]).steps.code.requirements is None


def test_a_file_without_a_version_line_says_so() -> None:
    [(line, field, message)] = problems(GOOD.replace("version: 1\n", ""))
    assert (line, field) == (1, "version") and "no version line" in message and "None" not in message
