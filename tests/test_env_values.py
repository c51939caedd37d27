"""Environment values as real apps need them (issue 9): commas (ALLOWED_HOSTS=a,b) and spaces survive the text
box, plain mode and --set the same way, and reach the env file quoted so that systemd and sh read them alike."""

from __future__ import annotations

import subprocess

import pytest

from recipes.app_server.step import AppServerSettings, env_map
from tests.conftest import ROOT
from wizard.app.recipefile import load, with_overrides
from wizard.engine.options import field_specs

ENV = next(spec for spec in field_specs(AppServerSettings) if spec.name == "env")


def test_a_comma_inside_a_value_stays_in_the_value() -> None:
    value = ENV.parse("ALLOWED_HOSTS=a.example,b.example, DEBUG=0,GREETING=Hello, world")
    assert value == {"ALLOWED_HOSTS": "a.example,b.example", "DEBUG": "0", "GREETING": "Hello, world"}
    assert ENV.parse(ENV.as_text(value)) == value  # what the form shows reads back the same


def test_set_takes_the_same_text() -> None:
    recipe = with_overrides(load(ROOT / "examples" / "flask-app.yaml"),
                            ["app_server.env=ALLOWED_HOSTS=demo.example.test,www.demo.example.test"])
    assert recipe.steps.app_server.env == {"ALLOWED_HOSTS": "demo.example.test,www.demo.example.test"}


@pytest.mark.parametrize("bad", ["it's", "C:\\path", "two\nlines", "bell\x07"])
def test_what_an_env_file_cannot_carry_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="quote"):
        env_map({"NAME": bad})


def test_sh_reads_the_written_line_as_the_value(tmp_path) -> None:
    value = "Hello, world & $HOME `id` ; x=y"
    env_map({"GREETING": value})
    (tmp_path / "app.env").write_text(f"GREETING='{value}'\n")
    out = subprocess.run(["sh", "-c", 'set -a; . "$1"; printf %s "$GREETING"', "sh", str(tmp_path / "app.env")],
                         capture_output=True, text=True)
    assert out.stdout == value
