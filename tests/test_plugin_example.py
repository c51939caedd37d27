"""The example step package (examples/step-plugin) follows the rules a step package must: it imports only
wizard.engine, plans from facts, and brings its own template and Chinese words. The live test
(tests/live/test_plugin.py) installs it as a wheel and applies it to a server."""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.test_i18n import calls
from wizard.app.preview import FreshFacts
from wizard.engine import i18n
from wizard.engine.facts import FactValues, FileState
from wizard.engine.step import Context, Ok, PutFile, Step

PLUGIN = ROOT / "examples" / "step-plugin"
PACKAGE = PLUGIN / "deploy_wizard_motd"


@pytest.fixture
def motd() -> Iterator[Step]:
    sys.path.insert(0, str(PLUGIN))
    try:
        from deploy_wizard_motd.step import Motd

        yield Motd()
    finally:
        sys.path.remove(str(PLUGIN))


def test_it_imports_only_the_engine() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in (
                    "wizard", "recipes", "screens"):
                assert node.module.startswith("wizard.engine"), (path.name, node.module)


def test_it_plans_the_file_once_and_then_nothing(motd: Step) -> None:
    settings = motd.Settings.model_validate({"message": "Production: changes go through the recipe."})
    ctx = Context(app="shop")
    [change] = list(motd.plan(settings, FreshFacts(), ctx))
    assert isinstance(change, PutFile) and change.path == "/etc/motd"
    assert change.content == b"Production: changes go through the recipe.\nThis server runs shop (deployed with " \
                             b"deploy-wizard; change it in the recipe, not here).\n"
    done = FactValues({"file:/etc/motd": FileState(hashlib.sha256(change.content).hexdigest(), "644", "root",
                                                   "root", len(change.content), change.content)})
    assert all(isinstance(item, Ok) for item in motd.plan(settings, done, ctx))


def test_its_words_are_in_its_own_catalog(motd: Step) -> None:
    ids = calls(list(PACKAGE.rglob("*.py"))) | {motd.title, motd.teaching.why}
    ids |= {text for pair in motd.teaching.troubleshoot for text in pair}
    ids |= {check.note for check in motd.teaching.checks() if check.note}
    ids |= {f.description for f in motd.Settings.model_fields.values() if f.description}
    catalog = i18n.folder_catalog(PACKAGE / "locale", "zh_CN")
    assert ids == set(catalog)
    i18n.set_language("zh_CN")
    try:
        assert motd.label() == "登录提示信息"
    finally:
        i18n.set_language("en")
