"""deploy-wizard's own directories (drafts, journals, pinned host keys) are 0700, and a recipe saved over an
existing file keeps that file's mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wizard.app.draft import Draft, drafts_dir
from wizard.app.recipefile import parse, save
from wizard.engine.fsutil import private_dir
from wizard.engine.hostkeys import HostKeyStore, config_dir
from wizard.engine.sinks import JournalSink, state_dir

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6sDnGzBmz4+vkp5pZbLusKd2vB8yNDaomJ4YkuRk92"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_drafts_journals_and_pins_live_in_0700_directories() -> None:
    state_dir().parent.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir().parent, 0o755)  # $XDG_STATE_HOME: not ours
    draft = Draft(name="shop", target={"host": "web1.example.com"})
    draft.autosave()
    JournalSink("shop", "web1.example.com").close()
    HostKeyStore(openssh_files=[]).add("web1.example.com", 22, KEY)
    for directory in (state_dir(), drafts_dir(), state_dir() / "journal", config_dir()):
        assert mode(directory) == 0o700, directory
    assert mode(state_dir().parent) == 0o755


def test_an_existing_open_state_directory_is_tightened(tmp_path: Path) -> None:
    (state_dir() / "journal").mkdir(parents=True, mode=0o755)
    os.chmod(state_dir(), 0o755)
    os.chmod(state_dir() / "journal", 0o755)
    JournalSink("shop", "web1").close()
    assert mode(state_dir()) == mode(state_dir() / "journal") == 0o700


def test_private_dir_leaves_the_directories_above_its_top_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    made = private_dir(tmp_path / "top" / "a" / "b", tmp_path / "top")
    assert [mode(p) for p in (tmp_path, tmp_path / "top", tmp_path / "top" / "a", made)] == [0o755, 0o700, 0o700, 0o700]


def test_a_pin_beside_a_recipe_does_not_close_the_recipe_folder(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    HostKeyStore(folder / "shop.known_hosts", openssh_files=[]).add("web1", 22, KEY)
    assert mode(folder) == 0o755


RECIPE = "version: 1\nname: shop\ntarget: {host: web1.example.com}\nsteps: {os_updates: {}}\n"


def test_a_recipe_saved_over_a_file_keeps_its_mode_and_a_new_one_is_0644(tmp_path: Path) -> None:
    recipe = parse(RECIPE)
    kept, new = tmp_path / "kept.yaml", tmp_path / "new.yaml"
    kept.write_text("old")
    for wanted in (0o600, 0o664):
        os.chmod(kept, wanted)
        save(recipe, kept)
        assert mode(kept) == wanted
        assert "name: shop" in kept.read_text()
    save(recipe, new)
    assert mode(new) == 0o644
