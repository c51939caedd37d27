"""The Markdown runbook export: every step, its why, exact commands, checks and fixes; never a secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.recipefile import load
from wizard.app.runbook import runbook
from wizard.engine import i18n

EXAMPLE = ROOT / "examples" / "flask-app.yaml"


def test_runbook_covers_every_step_with_its_commands() -> None:
    text = runbook(load(EXAMPLE), "examples/flask-app.yaml")
    recipe = load(EXAMPLE)
    for number, (step, _settings) in enumerate(recipe.selected(), start=1):
        assert f"## {number}. {registry.step(step.name).title}" in text
    assert "apt-get -y install postgresql" in text and "create role demo login password '***'" in text
    assert "server_name demo.example.test;" in text  # the nginx site, in full
    assert "127.0.0.1\tlocalhost" in text  # edited files keep their existing lines
    assert "postgresql://demo:" not in text and "preview-placeholder" not in text  # secret files never shown


def test_runbook_in_chinese() -> None:
    i18n.set_language("zh_CN")
    try:
        text = runbook(load(EXAMPLE), "examples/flask-app.yaml")
    finally:
        i18n.set_language("en")
    assert "## 1. 系统更新" in text and "**原因：**" in text and text.startswith("# 操作手册：demo")
    assert "运行手册" not in text  # one word for a runbook: 操作手册


def ascii_stops_in_chinese_prose(text: str) -> list[str]:
    """Lines of Chinese prose (outside code blocks and `code`) with an ASCII stop, colon, comma or semicolon
    touching a Chinese character or the end of a bold heading (headings keep their "1." numbers)."""
    found, code = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            code = not code
            continue
        prose = re.sub(r"`[^`]*`", "`x`", line)
        touching = r"[\u4e00-\u9fff）`*][.:,;](\s|\*|$)|[.:,;]\s*[\u4e00-\u9fff]"
        if not code and not line.startswith("#") and re.search(touching, prose):
            found.append(line)
    return found


def test_the_chinese_runbook_uses_chinese_punctuation() -> None:
    """Finding of the third trial: "**原因.**", "操作手册: " and "`symptom`: fix" in the Chinese runbook."""
    i18n.set_language("zh_CN")
    try:
        text = runbook(load(EXAMPLE), "examples/flask-app.yaml")
    finally:
        i18n.set_language("en")
    assert not ascii_stops_in_chinese_prose(text), ascii_stops_in_chinese_prose(text)[:10]
    assert "**验证：** 在服务器上" in text and "**出错时：**" in text


def test_cli_writes_the_runbook_atomically(tmp_path) -> None:
    out = tmp_path / "runbook.md"
    result = subprocess.run([sys.executable, "-m", "wizard", "export", str(EXAMPLE), "-o", str(out)], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "DEPLOY_WIZARD_LANG": "en"})
    assert result.returncode == 0 and out.read_text().startswith("# Runbook: demo")


def test_a_command_run_as_another_user_says_so() -> None:
    from wizard.app.runbook import as_typed
    from wizard.engine.commands import cmd

    assert as_typed(cmd("install", "-d", "-m", "0700", "/home/deploy/.ssh", user="deploy")) == \
        "sudo -u deploy install -d -m 0700 /home/deploy/.ssh"
