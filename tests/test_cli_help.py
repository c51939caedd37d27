"""`--help` and argparse's own messages in the operator's language, fitting 80 columns (finding of the fresh-eyes
trial: in Chinese, "usage:", "options:" and "show this help message and exit" stayed English, descriptions ran
past 80 columns, and two sentences were joined with ". ")."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len

from tests.conftest import ROOT

COMMANDS = [[], ["apply"], ["export"], ["unlock"], ["maintenance"], ["sandbox"], ["run"], ["deploy"]]


def deploy_wizard(*args: str, lang: str = "zh_CN") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "DEPLOY_WIZARD_LANG": lang}
    return subprocess.run([sys.executable, "-m", "wizard", "--lang", lang, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_chinese_help_is_chinese_and_fits_80_columns(command: list[str]) -> None:
    shown = deploy_wizard(*command, "--help")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for english in ("usage:", "options:", "positional arguments", "show this help message and exit"):
        assert english not in text, english
    assert text.startswith("用法：deploy-wizard") and "选项：\n" in text and "显示这段帮助并退出" in text
    too_wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert not too_wide, too_wide
    assert not any(line.lstrip().startswith(("，", "。", "；", "：", "）")) for line in text.splitlines())


def test_two_sentences_of_a_chinese_description_are_joined_with_a_full_stop() -> None:
    text = "".join(deploy_wizard("unlock", "--help").stdout.split())
    assert "（先显示持有者并询问）。锁的持有者" in text and "）. " not in text


def test_argparse_errors_are_said_in_chinese_and_exit_2() -> None:
    shown = deploy_wizard("export", "x.yaml", "--format", "nope")
    assert shown.returncode == 2
    assert "deploy-wizard export：错误：参数 --format：无效的选择：'nope'" in shown.stderr
    assert "error:" not in shown.stderr and "invalid choice" not in shown.stderr
    assert "缺少以下必需参数：file" in deploy_wizard("apply").stderr


def test_english_help_is_unchanged_in_its_words() -> None:
    text = deploy_wizard("--help", lang="en").stdout
    assert text.startswith("usage: deploy-wizard") and "\noptions:\n" in text
    assert "show this help message and exit" in text


def _commands() -> list[list[str]]:
    """Every command and sandbox action, as the parser knows them."""
    import argparse

    from wizard.cli.parser import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.append([*path, name])
                    walk(child, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_command_has_a_description_that_starts_as_a_sentence_and_ends_with_a_stop(lang: str) -> None:
    """Finding of the third trial: `unlock --help` and `maintenance --help` began in lower case; new, edit and
    schema had no description at all; `sandbox down` called its names "which ones"."""
    from wizard.engine import i18n

    previous = i18n.language()
    i18n.set_language(lang)
    try:
        from wizard.cli.parser import build_parser

        parser = build_parser()
        for path in _commands():
            child = parser
            for name in path:
                child = next(a for a in child._actions if isinstance(a, argparse_subparsers())).choices[name]
            text = child.description or ""
            assert text, f"{' '.join(path)} has no description"
            named = re.match(r"[a-z-]+[:：]", text)  # "runbook: ...": a format's name, as typed, defined
            assert named or not text[0].islower(), f"{' '.join(path)}: {text[:40]!r}"
            assert text.rstrip().endswith((".", "。")), f"{' '.join(path)}: {text[-40:]!r}"
    finally:
        i18n.set_language(previous)
    down = deploy_wizard("sandbox", "down", "--help", lang="en").stdout
    assert "which ones" not in down and "NAME" in down and "sandbox status" in down


def argparse_subparsers() -> type:
    import argparse

    return argparse._SubParsersAction


def test_the_readme_lists_every_command() -> None:
    """`maintenance` was missing from the README's table of commands."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Commands", 1)[1].split("\n\n", 2)[1]
    for path in _commands():
        if path[0] == "sandbox" or len(path) > 1:
            continue
        assert f"`deploy-wizard {path[0]}" in table, path[0]


@pytest.mark.parametrize(("argv", "lang"), [([], "en"), (["--lang", "zh_CN"], "zh_CN"), (["--lang", "en"], "en")])
def test_a_bare_command_in_a_terminal_opens_the_wizard_without_building_the_parser(
        argv: list[str], lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`deploy-wizard` (the way most people start it) goes straight to the wizard, in the language asked for: the
    parser's subcommands are not built before its first screen (bench/startup.py times it)."""
    from screens import app
    from wizard import cli
    from wizard.cli import new_edit, parser
    from wizard.engine import i18n

    opened: list[tuple[object, str]] = []
    monkeypatch.setattr(cli, "interactive", lambda: True)
    monkeypatch.setattr(new_edit, "interactive", lambda: True)
    monkeypatch.setattr(parser, "build_parser", lambda: pytest.fail("the parser was built"))
    monkeypatch.setattr(app, "run_app", lambda file: opened.append((file, i18n.language())) or 0)
    monkeypatch.setattr(i18n, "_current", "en")  # set back after the test
    assert cli.main(argv) == 0
    assert opened == [(None, lang)]


def test_the_wizard_starts_with_the_garbage_collector_paused_and_always_gives_it_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector is paused while Textual loads and the first screen is drawn (bench/startup.py: about 20 ms of
    the first paint); whatever happens in the wizard, it runs again afterwards."""
    import gc

    from screens import app
    from wizard.cli import new_edit

    seen: list[bool] = []

    def fails(file: object) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the wizard crashed")

    monkeypatch.setattr(new_edit, "interactive", lambda: True)
    monkeypatch.setattr(app, "run_app", fails)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        new_edit.wizard(None)
    assert seen == [False]
    assert gc.isenabled()


def test_a_bare_command_in_a_script_prints_the_help_and_a_wrong_language_is_refused() -> None:
    shown = subprocess.run([sys.executable, "-m", "wizard"], capture_output=True, text=True, cwd=ROOT,
                           stdin=subprocess.DEVNULL, env={**os.environ, "DEPLOY_WIZARD_LANG": "en"})
    assert shown.returncode == 0 and shown.stdout.startswith("usage: deploy-wizard")
    refused = deploy_wizard(lang="fr")
    assert refused.returncode == 2 and "--lang" in refused.stderr and "fr" in refused.stderr
