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
