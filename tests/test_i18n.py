"""Every user-facing message has a Simplified Chinese entry with the same placeholders, and none is stale."""

from __future__ import annotations

import ast
import os
import re
import string
import subprocess
import sys

from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.recipefile import Target
from wizard.engine import i18n

SOURCE_DIRS = ("wizard", "recipes", "screens")


def message_ids() -> set[str]:
    ids: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                        and node.args and isinstance(node.args[0], ast.Constant)):
                    ids.add(node.args[0].value)
    for step in registry.steps():  # texts shown through _() at display time
        ids |= {step.title, step.teaching.why}
        ids |= {text for pair in step.teaching.troubleshoot for text in pair}
        ids |= {f.description for f in step.Settings.model_fields.values() if f.description}
    ids |= {f.description for f in Target.model_fields.values() if f.description}
    for path in sorted(set((ROOT / "screens").glob("*.py")) - {ROOT / "screens" / "app.py"}):  # step screen titles
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TITLE" for t in node.targets):
                ids.add(node.value.value)  # type: ignore[attr-defined]
    return ids


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_a_chinese_entry() -> None:
    missing = sorted(message_ids() - set(i18n.catalog("zh_CN")))
    assert not missing, "no zh_CN entry for:\n" + "\n".join(missing)


def test_no_stale_entries() -> None:
    stale = sorted(set(i18n.catalog("zh_CN")) - message_ids())
    assert not stale, "zh_CN entries nobody uses:\n" + "\n".join(stale)


def test_placeholders_match() -> None:
    for msgid, text in i18n.catalog("zh_CN").items():
        assert placeholders(msgid) == placeholders(text), msgid


def test_translations_are_chinese_except_literal_error_messages() -> None:
    # error messages quoted as the operator will see them on screen stay as they are
    for msgid, text in i18n.catalog("zh_CN").items():
        if text != msgid:
            assert re.search(r"[\u4e00-\u9fff]", text), msgid


def test_language_detection() -> None:
    assert i18n.detect_language({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.detect_language({"LANG": "de_DE.UTF-8"}) == "en"
    assert i18n.detect_language({"LANGUAGE": "zh_TW:en", "LANG": "en_US"}) == "zh_CN"
    assert i18n.detect_language({"LANG": "zh_CN.UTF-8", "DEPLOY_WIZARD_LANG": "en"}) == "en"
    assert i18n.detect_language({}) == "en"


def test_cli_speaks_chinese_with_lang_flag() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPLOY_WIZARD_LANG"}
    result = subprocess.run([sys.executable, "-m", "wizard", "--lang", "zh_CN", "--help"], capture_output=True,
                            text=True, cwd=ROOT, env=env)
    assert "显示 apply 将做的改动" in result.stdout
    from_locale = subprocess.run([sys.executable, "-m", "wizard", "--help"], capture_output=True, text=True, cwd=ROOT,
                                 env={**env, "LANG": "zh_CN.UTF-8", "LC_ALL": ""})
    assert "配方" in from_locale.stdout
