"""Every user-facing message has a Simplified Chinese entry with the same placeholders, and none is stale."""

from __future__ import annotations

import ast
import os
import re
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.recipefile import Target
from wizard.engine import i18n

STEP_FOLDERS = sorted(p.parent.parent for p in (ROOT / "recipes").glob("*/locale/zh_CN.json"))


def calls(paths: list[Path]) -> set[str]:
    """Every constant message passed to `_()` in these files, and both forms passed to `n_()`."""
    ids: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "n_"):
                forms = node.args[:1] if node.func.id == "_" else node.args[:2]
                ids |= {arg.value for arg in forms if isinstance(arg, ast.Constant)}
    return ids


def engine_ids() -> set[str]:
    """Messages of the engine's catalog: the core, the application, the CLI and the screens."""
    ids = calls([p for top in ("wizard", "screens") for p in (ROOT / top).rglob("*.py")])
    ids |= {f.description for f in Target.model_fields.values() if f.description}
    for path in sorted(set((ROOT / "screens").glob("*.py")) - {ROOT / "screens" / "app.py"}):  # step screen titles
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TITLE" for t in node.targets):
                ids.add(node.value.value)  # type: ignore[attr-defined]
    return ids


def folder_ids(folder: Path) -> set[str]:
    """Messages of one folder under recipes/: its `_()` calls, and for a step its title, teaching and labels."""
    ids = calls(sorted(folder.rglob("*.py")))
    step = registry.by_name().get(folder.name)
    if step is not None:
        ids |= {step.title, step.teaching.why}
        ids |= {text for pair in step.teaching.troubleshoot for text in pair}
        ids |= {check.note for check in step.teaching.checks() if check.note}
        ids |= {f.description for f in step.Settings.model_fields.values() if f.description}
    return ids


CATALOGS = [("engine", i18n.ENGINE_LOCALE, engine_ids)] + [
    (folder.name, folder / "locale", lambda folder=folder: folder_ids(folder)) for folder in STEP_FOLDERS]


def catalog(locale_dir: Path) -> dict[str, str]:
    return i18n.folder_catalog(locale_dir, "zh_CN")


def test_every_step_folder_has_its_own_catalog() -> None:
    assert {p.parent.name for p in (ROOT / "recipes").glob("*/step.py")} <= {f.name for f in STEP_FOLDERS}


@pytest.mark.parametrize(("name", "locale_dir", "ids"), CATALOGS, ids=[c[0] for c in CATALOGS])
def test_every_message_has_a_chinese_entry_in_its_own_catalog(name: str, locale_dir: Path,
                                                              ids: Callable[[], set[str]]) -> None:
    missing = sorted(ids() - set(catalog(locale_dir)))
    assert not missing, f"no zh_CN entry in {locale_dir} for:\n" + "\n".join(missing)


@pytest.mark.parametrize(("name", "locale_dir", "ids"), CATALOGS, ids=[c[0] for c in CATALOGS])
def test_no_stale_entries(name: str, locale_dir: Path, ids: Callable[[], set[str]]) -> None:
    stale = sorted(set(catalog(locale_dir)) - ids())
    assert not stale, f"zh_CN entries in {locale_dir} nobody there uses:\n" + "\n".join(stale)


@pytest.mark.parametrize(("name", "locale_dir", "ids"), CATALOGS, ids=[c[0] for c in CATALOGS])
def test_placeholders_match(name: str, locale_dir: Path, ids: Callable[[], set[str]]) -> None:
    for msgid, text in catalog(locale_dir).items():
        assert placeholders(msgid) == placeholders(text), msgid


@pytest.mark.parametrize(("name", "locale_dir", "ids"), CATALOGS, ids=[c[0] for c in CATALOGS])
def test_translations_are_chinese_except_literal_error_messages(name: str, locale_dir: Path,
                                                                ids: Callable[[], set[str]]) -> None:
    # error messages quoted as the operator will see them on screen stay as they are
    for msgid, text in catalog(locale_dir).items():
        if text != msgid:
            assert re.search(r"[\u4e00-\u9fff]", text), msgid


def test_a_step_text_comes_from_the_catalog_beside_the_step() -> None:
    nginx = registry.step("nginx")
    own = catalog(ROOT / "recipes" / "nginx" / "locale")
    i18n.set_language("zh_CN")
    try:
        assert nginx.label() == own[nginx.title] != nginx.title
        assert nginx.lesson().why == own[nginx.teaching.why]
    finally:
        i18n.set_language("en")
    assert nginx.label() == "nginx web server"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


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
