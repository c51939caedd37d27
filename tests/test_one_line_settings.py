"""Every text setting is one line: a trailing (or embedded) line break or control character is refused, by name.

Why a test per field of every step: Python's `$` matches before a final newline, so `deploy\\n` passed the user
name pattern (and host names, paths, env values, ...) and would have ended a line in a config file.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wizard.app import registry
from wizard.app.recipefile import RecipeError, Target, parse, with_overrides
from wizard.engine.step import StepSettings
from wizard.engine.validators import secret_ref


def text_value(prop: dict[str, Any], text: str) -> Any:
    """A value of the field's JSON Schema shape holding `text`; None when the field holds no free text."""
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "string" and "enum" not in option and "const" not in option:
            return text
        if option.get("type") == "array" and option.get("items", {}).get("type") == "string":
            return [text]
        if option.get("type") == "object" and option.get("additionalProperties", {}).get("type") == "string":
            return {"NAME": text}
    return None


CASES = [(step.name, name, value) for step in registry.steps()
         for name, prop in step.Settings.model_json_schema()["properties"].items()
         for value in ["x\n", "x\r", "x\ty", "a\u2028b", "\x1b[31mx", "x\x85"]
         if text_value(prop, value) is not None]


# steps whose settings hold no free text at all (choices, numbers, and values the step resolves itself)
NO_TEXT = {"goals"}


def test_every_step_is_covered() -> None:
    assert {c[0] for c in CASES} | NO_TEXT == {s.name for s in registry.steps()}


@pytest.mark.parametrize(("step", "field", "text"), CASES)
def test_a_control_character_in_any_text_field_is_refused_by_name(step: str, field: str, text: str) -> None:
    settings = registry.step(step).Settings
    value = text_value(settings.model_json_schema()["properties"][field], text)
    with pytest.raises(ValidationError) as info:
        settings.model_validate({field: value})
    [error] = [e for e in info.value.errors() if e["loc"][0] == field]
    assert "control character" in error["msg"]


# Values each field accepts; with a newline at the end every one of them passed its own pattern before.
VALID = {
    ("app_server", "module"): "app:app", ("app_server", "env"): {"A": "b"}, ("app_server", "health_path"): "/",
    ("app_server", "secret_env"): {"A": "env:X"}, ("code", "repo"): "https://github.com/a/b.git",
    ("code", "ref"): "main", ("code", "requirements"): "requirements.txt",
    ("code", "build"): "npm ci && npm run build", ("database", "name"): "app",
    ("database", "user"): "app", ("database", "password"): "env:X", ("deploy_user", "name"): "deploy",
    ("deploy_user", "home"): "/home/x", ("deploy_user", "shell"): "/bin/bash", ("deploy_user", "groups"): ["www-data"],
    ("firewall", "extra_ports"): ["8080/tcp"], ("monitoring", "node_exporter_listen"): "127.0.0.1:9100",
    ("monitoring", "journald_max_use"): "500M", ("monitoring", "health_interval"): "5min",
    ("nginx", "server_names"): ["example.com"], ("nginx", "client_max_body_size"): "10m",
    ("os_updates", "packages"): ["curl"], ("os_updates", "timezone"): "UTC", ("os_updates", "hostname"): "web1",
    ("python", "version"): "3.12", ("python", "server_packages"): ["gunicorn"], ("static", "source_dir"): "static",
    ("static", "static_url"): "/static/", ("tls", "domain"): "example.com", ("tls", "email"): "a@example.com",
    ("tls", "acme_server"): "https://ca.example.com/dir",
}
REQUIRED = {"code": {"repo": "https://github.com/a/b.git"}, "database": {"password": "env:X"},
            "nginx": {"server_names": ["example.com"]}, "tls": {"email": "a@example.com"}}


def with_newline(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\n"
    if isinstance(value, list):
        return [with_newline(v) for v in value]
    return {k: with_newline(v) for k, v in value.items()}


@pytest.mark.parametrize(("step", "field"), sorted(VALID))
def test_a_trailing_newline_after_a_valid_value_is_refused(step: str, field: str) -> None:
    settings = registry.step(step).Settings
    settings.model_validate({**REQUIRED.get(step, {}), field: VALID[step, field]})  # valid as it is
    with pytest.raises(ValidationError, match="control character"):
        settings.model_validate({**REQUIRED.get(step, {}), field: with_newline(VALID[step, field])})


def test_assignment_is_checked_too() -> None:
    settings = registry.step("deploy_user").Settings(name="deploy")
    with pytest.raises(ValidationError, match="control character"):
        settings.name = "deploy\n"


@pytest.mark.parametrize(("field", "value"), [("host", "example.com"), ("user", "admin"), ("key", "~/.ssh/id"),
                                              ("host_key", "SHA256:" + "A" * 43), ("sudo_password", "env:SUDO")])
def test_target_fields_refuse_a_trailing_newline(field: str, value: str) -> None:
    Target.model_validate({"host": "example.com", field: value})
    with pytest.raises(ValidationError, match="control character"):
        Target.model_validate({"host": "example.com", field: value + "\n"})


@pytest.mark.parametrize("ref", ["env:X\n", "file:/run/secret\n", "file:/a\nb"])
def test_secret_references_are_one_line(ref: str) -> None:
    with pytest.raises(ValueError):
        secret_ref(ref)


def test_the_recipe_error_names_line_and_field_on_one_line() -> None:
    text = 'version: 1\ntarget: {host: example.com}\nsteps:\n  deploy_user:\n    name: "deploy\\n"\n'
    with pytest.raises(RecipeError) as info:
        parse(text, "r.yaml")
    assert str(info.value) == ("r.yaml:5: steps.deploy_user.name: a line break or another control character (\\n) "
                               "is not allowed here: it would change what the value means in a command or a config "
                               "file")


def test_set_overrides_are_checked_the_same_way() -> None:
    recipe = parse("version: 1\ntarget: {host: example.com}\nsteps:\n  os_updates: {}\n")
    with pytest.raises(RecipeError, match=r"app_server.env: a line break or another control character \(\\u2028\)"):
        with_overrides(recipe, ["app_server.env=GREETING=hello\u2028world"])  # the env pattern let U+2028 in


def test_a_field_may_opt_in() -> None:
    class Banner(StepSettings):
        control_characters_allowed = frozenset({"text"})
        text: str = ""
        title: str = ""

    assert Banner(text="line 1\nline 2\n").text == "line 1\nline 2\n"
    with pytest.raises(ValidationError, match="control character"):
        Banner(title="a\nb")
