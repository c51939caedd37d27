"""Findings of the second fresh-eyes trial: --lang after the command, plain words for a number written where text
belongs, for a missing file and for a connection closed before SSH began, and the runbook of an SSH repository."""

from __future__ import annotations

import pytest

from wizard.app.recipefile import RecipeError, parse
from wizard.app.runbook import runbook
from wizard.cli import main
from wizard.engine.i18n import set_language
from wizard.engine.transports.reasons import plain_reason


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("en")


def test_lang_is_accepted_after_the_command(tmp_path, capsys) -> None:
    assert main(["plan", str(tmp_path / "missing.yaml"), "--lang", "zh_CN"]) == 2
    err = capsys.readouterr().err
    assert "无法读取文件：没有这个文件" in err and "No such file" not in err


def test_a_missing_file_is_said_in_plain_words(tmp_path, capsys) -> None:
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the file: there is no such file" in capsys.readouterr().err


def test_a_number_where_text_belongs_says_to_quote_it() -> None:
    with pytest.raises(RecipeError) as info:
        parse("version: 1\nname: demo\ntarget: {host: 123}\n", "r.yaml")
    assert "123 is read as a number here, where text is expected: put it in quotes ('123')" in str(info.value)


def test_a_word_where_a_number_belongs_repeats_it() -> None:
    with pytest.raises(RecipeError) as info:
        parse("version: 1\nname: demo\ntarget: {host: example.com, port: abc}\n", "r.yaml")
    assert "'abc' is not a number" in str(info.value)


def test_a_connection_closed_before_ssh_began_says_what_to_check() -> None:
    import asyncssh

    said = plain_reason(asyncssh.ConnectionLost("Connection lost"))
    assert said.startswith("the server closed the connection before SSH began")


def test_the_runbook_of_an_ssh_repository_names_the_git_host() -> None:
    recipe = parse("version: 1\nname: shop\ntarget: {host: 10.99.1.2, user: admin}\n"
                   "steps:\n  code: {repo: 'git@github.com:me/shop.git'}\n")
    text = runbook(recipe, "shop.yaml")
    assert "sudo ssh-keygen -R github.com -f /srv/shop/shared/ssh/known_hosts" in text
    assert "keep the git host key of github.com" in text


def test_a_map_of_secrets_hints_at_references_not_values() -> None:
    from wizard.app import registry
    from wizard.engine.options import field_specs

    spec = next(s for s in field_specs(registry.step("app_server").Settings) if s.name == "secret_env")
    assert "SECRET_KEY=env:APP_SECRET_KEY" in spec.syntax() and "A=1" not in spec.syntax()
