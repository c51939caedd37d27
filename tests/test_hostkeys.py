"""deploy-wizard's own known_hosts: where it lives, and the fingerprints operators compare and pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.engine.hostkeys import HostKeyStore, config_dir


def test_the_store_lives_in_the_xdg_config_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert HostKeyStore().path == tmp_path / "config" / "deploy-wizard" / "known_hosts"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("XDG_CONFIG_HOME"), lambda: monkeypatch.setenv("XDG_CONFIG_HOME", "")):
        unset()
        assert config_dir() == tmp_path / "home" / ".config" / "deploy-wizard"
