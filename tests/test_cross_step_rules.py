"""Checks across steps (issue 18, item 2): a recipe whose steps need one it leaves out is refused with the reason,
at load time in the CLI, for `--set`, and at save time in the wizard; README.md lists every rule."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.test_recipefile import run_cli
from wizard.app.draft import Draft
from wizard.app.recipefile import RecipeError, load, parse, with_overrides
from wizard.app.rules import RULES
from wizard.engine.i18n import set_language

HEAD = "version: 1\nname: demo\ntarget: {host: web1.example.com}\nsteps:\n"
STEPS = {
    "app_server": "  app_server: {module: 'app:app'}\n",
    "nginx": "  nginx: {server_names: [demo.example.com]}\n",
    "tls": "  tls: {email: ops@example.com}\n",
    "static": "  static: {}\n",
}


def recipe(*names: str) -> str:
    return HEAD + "".join(STEPS[name] for name in names)


def refused(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(RecipeError) as info:
        parse(text, "r.yaml")
    return info.value.problems


def test_nginx_without_an_app_server_is_refused_at_its_line_with_the_reason() -> None:
    [(line, field, message)] = refused(recipe("nginx"))
    assert (line, field) == (5, "steps.nginx")
    assert message.startswith("“nginx web server” needs “App server (gunicorn)”: ")
    assert "502 Bad Gateway" in message and "(app_server)" in message


@pytest.mark.parametrize(("names", "step"), [(("app_server", "tls"), "tls"),
                                             (("app_server", "static"), "static")])
def test_tls_and_static_files_without_nginx_are_refused(names: tuple[str, ...], step: str) -> None:
    [(_line, field, message)] = refused(recipe(*names))
    assert field == f"steps.{step}" and "needs “nginx web server”" in message


def test_every_broken_rule_is_reported_and_a_whole_stack_passes() -> None:
    assert [field for _l, field, _m in refused(recipe("tls", "static"))] == ["steps.tls", "steps.static"]
    assert parse(recipe("app_server", "nginx", "tls", "static")).steps.tls is not None


def test_the_reason_is_said_in_chinese_too() -> None:
    set_language("zh_CN")
    [(_line, _field, message)] = refused(recipe("nginx"))
    assert "502 Bad Gateway" in message and "needs" not in message


def test_the_cli_refuses_it_at_load_time_with_exit_2(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(recipe("app_server", "tls"))
    with pytest.raises(RecipeError, match=r"r.yaml:6: steps.tls: "):
        load(path)
    result = run_cli("plan", str(path))
    assert result.returncode == 2 and f"{path}:6: steps.tls:" in result.stderr and "Traceback" not in result.stderr


def test_set_cannot_switch_the_needed_step_off() -> None:
    whole = parse(recipe("app_server", "nginx"))
    with pytest.raises(RecipeError, match="steps.nginx"):
        with_overrides(whole.model_copy(update={"steps": whole.steps.model_copy(update={"app_server": None})}), [])


def test_the_wizard_refuses_to_save_it_but_previews_each_step_meanwhile(tmp_path) -> None:
    draft = Draft(name="demo", target={"host": "web1.example.com"}, enabled={"nginx"},
                  steps={"nginx": {"server_names": ["demo.example.com"]}})
    assert draft.recipe(across=False).steps.nginx is not None  # the step screens' preview
    with pytest.raises(RecipeError, match="needs “App server"):
        draft.save(tmp_path / "demo.yaml")
    assert not (tmp_path / "demo.yaml").exists()


def test_the_readme_lists_every_rule() -> None:
    readme = (ROOT / "README.md").read_text()
    for rule in RULES:
        assert f"| `{rule.step}` | `{rule.needed}` |" in readme, rule


def test_the_example_recipes_keep_every_rule() -> None:
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        load(path)
