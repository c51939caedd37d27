"""Shared fixtures: every test gets private config/state directories, so nothing touches the operator's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = [
    "'; rm -rf / #",
    "$(id)",
    "`id`",
    "a\nb",
    "line1\r\nline2",
    "tab\there",
    "ünïcødé 中文 🚀",
    "--help",
    "-rf",
    "a b  c",
    "\"double\" 'single'",
    "back\\slash",
    "*?[glob]",
    "~root",
    "$HOME ${PATH}",
    "!event",
    "semi;colon|pipe&amp>gt<lt",
    "",
]


@pytest.fixture(autouse=True)
def private_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("DEPLOY_WIZARD_LANG", "en")
    from wizard.engine import i18n

    i18n.set_language("en")
    return base


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


LIVE = ROOT / "tests" / "live"
# A unit test that has not finished in this time is stuck (the slowest take seconds, a few about a minute on a
# busy 2-core machine): it fails alone, long before pyproject.toml's timeout, which is sized for live tests.
UNIT_TIMEOUT = 300


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the live modules first, the longest first (tests/live/conftest.py LONGEST_FIRST); give each unit test
    the unit timeout.

    Why: CI runs the live tests in two lanes (pytest-xdist, `-n 2 --dist loadfile --no-loadscope-reorder`, see
    .ci/run), each lane taking the next whole module when it is free. The long sandbox modules started first and
    the short ones at the end keep both lanes busy until the last minute, instead of one lane still applying a
    whole stack while the other has nothing left. Only the order of modules changes: the tests of a module keep
    theirs (module fixtures, parameters), and nothing depends on another module's state.
    """
    from tests.live.conftest import LONGEST_FIRST

    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}

    def key(item: pytest.Item) -> tuple[int, int]:
        if item.path.parent != LIVE:
            return (2, 0)
        return (0, rank[item.path.stem]) if item.path.stem in rank else (1, 0)

    items.sort(key=key)  # stable: within a module, and among unit files, pytest's own order stays
    for item in items:
        if item.path.parent != LIVE and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT))
