"""Every user-facing message has a Simplified Chinese entry with the same placeholders, and none is stale."""

from __future__ import annotations

import ast
import concurrent.futures
import os
import re
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.recipefile import Target
from wizard.engine import i18n
from wizard.engine.options import field_specs

STEP_FOLDERS = sorted(p.parent.parent for p in (ROOT / "recipes").glob("*/locale/zh_CN.json"))



def parse(source: str) -> ast.Module:
    """ast.parse, on a fresh thread when this one's state is off: CPython 3.11.7 (gh-106905) can raise
    "AST constructor recursion depth mismatch" after a RecursionError elsewhere in the process (the hostile
    YAML tests cause some on purpose); the counter is per thread."""
    try:
        return ast.parse(source)
    except SystemError:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(ast.parse, source).result()

def calls(paths: list[Path]) -> set[str]:
    """Every constant message passed to `_()` in these files (with its context, `_("OK", context="button")`), and
    both forms passed to `n_()`."""
    ids: set[str] = set()
    for path in paths:
        for node in ast.walk(parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "n_"):
                forms = node.args[:1] if node.func.id == "_" else node.args[:2]
                context = next((kw.value.value for kw in node.keywords
                                if kw.arg == "context" and isinstance(kw.value, ast.Constant)), None)
                ids |= {i18n.key(arg.value, context) for arg in forms if isinstance(arg, ast.Constant)}
    return ids


def prompted(model: type[BaseModel]) -> set[str]:
    """The title and text of each secret dialog a settings model declares (validators.Prompted)."""
    return {text for spec in field_specs(model) if spec.prompted for text in (spec.prompted.title, spec.prompted.text)}


def engine_ids() -> set[str]:
    """Messages of the engine's catalog: the core, the application, the CLI and the screens."""
    ids = calls([p for top in ("wizard", "screens") for p in (ROOT / top).rglob("*.py")])
    ids |= {f.description for f in Target.model_fields.values() if f.description} | prompted(Target)
    for path in sorted(set((ROOT / "screens").glob("*.py")) - {ROOT / "screens" / "app.py"}):  # step screen titles
        for node in ast.walk(parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TITLE" for t in node.targets):
                ids.add(node.value.value)  # type: ignore[attr-defined]
    return ids


def folder_ids(folder: Path) -> set[str]:
    """Messages of one folder under recipes/: its `_()` calls, and for a step its title, teaching and labels."""
    ids = calls(sorted(folder.rglob("*.py")))
    step = registry.by_name().get(folder.name)
    if step is not None:
        ids |= {step.title, step.teaching.why}
        ids |= {text for text in (step.teaching.goal, step.teaching.section) if text}
        ids |= {text for pair in step.teaching.troubleshoot for text in pair}
        ids |= {check.note for check in step.teaching.checks() if check.note}
        ids |= {f.description for f in step.Settings.model_fields.values() if f.description}
        ids |= prompted(step.Settings)
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
    # error messages quoted as the operator will see them on screen stay as they are; a separator may be only a
    # full-width mark ("；" between clauses)
    for msgid, text in catalog(locale_dir).items():
        if text != msgid:
            assert re.search(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]", text), msgid


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


# Calls that put their arguments in front of the operator, by name: exceptions (what DeployWizardError subclasses
# and the like are called), printing, progress lines, TUI widgets and notifications.
SAYING = {"print", "err", "progress", "notify", "update", "Notice", "Static", "Button", "Label", "ask", "confirm"}
SAYING_ENDS = ("Error", "Changed", "Unknown", "Failed", "Timeout")
PHRASE = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")  # two words: text for people, not a flag or a path
SCRIPT_NOTICE = re.compile(r"deploy-wizard: [A-Za-z]")  # what our scripts print for the operator (NOTICE_PREFIX)
NOT_FOR_PEOPLE = {  # (file, start of the literal): bug guards that stop with a traceback, never an operator's message
    ("wizard/engine/commands.py", "a NUL byte"), ("wizard/engine/commands.py", "pass booleans"),
}


def _says_words(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return PHRASE.search(node.value) is not None
    if isinstance(node, ast.JoinedStr):  # an f-string: its own words, not what it formats
        return any(isinstance(v, ast.Constant) and PHRASE.search(str(v.value)) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _says_words(node.left) or _says_words(node.right)
    return False


def untranslated(rel: str, source: str) -> list[str]:
    """English given to the operator without `_()` in the module `rel` (its path under the checkout): a literal or
    f-string passed straight to a call that shows it, or a notice line a server-side script prints."""
    found = []
    for node in ast.walk(parse(source)):
        name = getattr(node, "func", None)
        name = getattr(name, "id", None) or getattr(name, "attr", "")
        if isinstance(node, ast.Call) and (name in SAYING or name.endswith(SAYING_ENDS)):
            shown = [*node.args, *(kw.value for kw in node.keywords if kw.arg not in ("id", "classes", "variant"))]
            found += [f"{node.lineno}: {ast.unparse(arg)[:80]}" for arg in shown if _says_words(arg)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SCRIPT_NOTICE.search(node.value):
            found.append(f"{node.lineno}: {node.value[:80]!r}")
    return [f"{rel}:{line}" for line in found
            if not any(rel == file and line.split(": ", 1)[1].lstrip("'\"").startswith(start)
                       for file, start in NOT_FOR_PEOPLE)]


def test_user_facing_text_goes_through_translation() -> None:
    """Transport, host-key, sudo, sandbox and export errors, screens and the CLI: no English literal reaches the
    operator past `_()` (the steps under recipes/ say theirs through their own catalogs, checked above)."""
    paths = sorted(p for top in ("wizard", "screens") for p in (ROOT / top).rglob("*.py"))
    assert {ROOT / "wizard/engine/hostkeys.py", ROOT / "wizard/app/exports/shell.py"} <= set(paths)
    leaks = [leak for path in paths for leak in untranslated(path.relative_to(ROOT).as_posix(), path.read_text())]
    assert not leaks, "shown without _():\n" + "\n".join(leaks)


def test_the_check_sees_an_untranslated_message() -> None:
    source = ('raise SandboxError(f"the sandbox {name} is gone")\nprint(_("fine {x}").format(x=1))\n'
              'script = \'echo "deploy-wizard: waiting for the lock"\'\nraise RecipeError(path, "--set")\n')
    assert untranslated("wizard/lab/x.py", source) == [
        "wizard/lab/x.py:1: f'the sandbox {name} is gone'",
        "wizard/lab/x.py:3: 'echo \"deploy-wizard: waiting for the lock\"'"]
