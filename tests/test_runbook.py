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
    assert "apt-get -y install --no-install-recommends postgresql logrotate" in text
    assert "create role demo login password '***'" in text
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


def _repo(tmp_path) -> str:
    """A git repository of this machine's own, with a requirements file, as the app's."""
    work = tmp_path / "app"
    work.mkdir()
    (work / "requirements.txt").write_text("flask\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", "-C", str(work)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def _served_as(monkeypatch, url: str, path) -> None:
    """git on this machine reads `url` from the local `path` (git's own url.insteadOf, through the environment)."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{path}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", url)


def _code_block(text: str, step: str) -> str:
    section = text.split(f". {step}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_checkout_staging_and_install_run_as_shown(tmp_path, monkeypatch) -> None:
    """Finding of the third trial: the runbook showed the clone, the staging and the install as comments. The
    branch is read here as a commit (as `plan` does), so they name it; the install the run decides is an
    if/elif of each case's own commands; the whole block is valid shell."""
    from wizard.app.recipefile import with_overrides
    from wizard.app.runbook import pin_commits

    sha = _repo(tmp_path)
    _served_as(monkeypatch, "git://git.example.test/app.git", tmp_path / "app")
    recipe = with_overrides(load(EXAMPLE), ["code.repo=git://git.example.test/app.git"])
    pinned, note = pin_commits(recipe)
    assert f"`main` was commit {sha[:12]}" in note
    text = runbook(recipe, "examples/flask-app.yaml", pinned, note)
    block = _code_block(text, "Code")
    release = f"/srv/demo/releases/{sha[:12]}"
    assert f"sudo -u demo sh -c 'git clone git://git.example.test/app.git {release} && git -C {release} checkout" \
        in block
    assert f"sudo sh -c 'ln -sfn \"$1\" \"$2.new\" && mv -Tf \"$2.new\" \"$2\"' sh releases/{sha[:12]} /srv/demo/next" \
        in block
    assert f"if test -f {release}/uv.lock; then" in block and f"elif test -f {release}/requirements.txt; then" in block
    assert f"  sudo -u demo /srv/demo/venv/bin/pip install -r {release}/requirements.txt" in block
    assert "<commit>" not in block and "\n# git clone" not in block and "\n# sh -c" not in block
    settings = next(line for line in text.splitlines() if line.startswith("**Settings.**") and "repo:" in line)
    assert sha not in settings  # the settings as the recipe has them (ref: main, the default)
    checked = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_a_commit_this_machine_cannot_read_is_said_and_the_checkout_stays_a_comment(tmp_path, monkeypatch) -> None:
    from wizard.app.recipefile import with_overrides
    from wizard.app.runbook import pin_commits

    _served_as(monkeypatch, "git://git.example.test/none.git", tmp_path / "none")
    recipe = with_overrides(load(EXAMPLE), ["code.repo=git://git.example.test/none.git"])
    pinned, note = pin_commits(recipe)
    assert pinned is recipe and "could not be read from this machine" in note
    block = _code_block(runbook(recipe, "r.yaml", pinned, note), "Code")
    assert "# git clone" in block and "<commit>" in block
