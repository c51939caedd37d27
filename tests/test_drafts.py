"""Drafts keep no secret typed as it is, can be listed and deleted (`deploy-wizard drafts`), and expire after 30
days at the next start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wizard.app import draftfiles
from wizard.app.draft import Draft, drafts_dir
from wizard.cli import main

LITERALS = ("hunter2-db", "s3cret-token", "sudo-pw-42")


def secret_draft() -> Draft:
    draft = Draft(name="shop", enabled={"database", "app_server"})
    draft.target = {"host": "web1.example.com", "sudo_password": "sudo-pw-42"}
    draft.steps = {"database": {"password": "hunter2-db", "engine": "postgresql"},
                   "app_server": {"secret_env": {"API_TOKEN": "s3cret-token", "MAIL": "env:MAIL_PASSWORD"}}}
    return draft


def test_a_secret_typed_as_it_is_never_reaches_the_draft_file() -> None:
    draft = secret_draft()
    path = draft.autosave()
    text = path.read_text()
    assert not [literal for literal in LITERALS if literal in text], text
    assert draft.target["sudo_password"] == "sudo-pw-42"  # the form still has it, to say it is not a reference
    again = Draft.load(path)
    assert "sudo_password" not in again.target and "password" not in again.values("database")
    assert again.values("database")["engine"] == "postgresql"  # the rest of the answers are kept
    # a map of secrets keeps its names (what is left to fill in) and its references
    assert again.values("app_server")["secret_env"] == {"API_TOKEN": "", "MAIL": "env:MAIL_PASSWORD"}


@pytest.mark.parametrize("ref", ["env:DB_PASSWORD", "file:/run/secrets/db", "prompt"])
def test_a_reference_is_kept(ref: str) -> None:
    draft = secret_draft()
    draft.steps["database"]["password"] = ref
    draft.target["sudo_password"] = ref
    again = Draft.load(draft.autosave())
    assert again.values("database")["password"] == ref and again.target["sudo_password"] == ref


def _drafts(*ages_in_days: float) -> list[Path]:
    paths = []
    for index, days in enumerate(ages_in_days):
        draft = Draft(name=f"app{index}", target={"host": f"web{index}.example.com"}, key=f"key{index}")
        path = draft.autosave()
        stamp = time.time() - days * 86400
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def test_drafts_lists_each_draft_with_its_id_age_and_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    _drafts(2, 0.2)
    assert main(["drafts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "age", "recipe", "recipe", "file"]
    assert out[1].split() == ["key1", "4", "hours", "app1", "@", "web1.example.com", "(new:", "not", "saved", "yet)"]
    assert out[2].split() == ["key0", "2", "days", "app0", "@", "web0.example.com", "(new:", "not", "saved", "yet)"]
    assert "drafts not changed for 30 days are deleted at the next start" in out[3]
    assert main(["drafts", "list"]) == 0 and capsys.readouterr().out.splitlines()[1].startswith("key1")


def test_drafts_lists_the_recipe_file_in_a_column_of_its_own(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    """Finding of the third trial: the recipe file was only a note after the app, and easy to miss."""
    draft = Draft(name="shop", target={"host": "web1.example.com"}, path=tmp_path / "shop.yaml")
    draft.autosave()
    assert main(["drafts"]) == 0
    head, row = capsys.readouterr().out.splitlines()[:2]
    column = head.index("recipe file")
    assert row[column:].strip() == str(tmp_path / "shop.yaml")
    assert row[:column].split()[-3:] == ["shop", "@", "web1.example.com"]


def test_drafts_delete_by_id_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    first, second, third = _drafts(1, 1, 1)
    assert main(["drafts", "delete", "key1"]) == 0
    assert "Deleted 1 draft." in capsys.readouterr().out
    assert first.exists() and not second.exists() and third.exists()
    assert main(["drafts", "delete", "--all"]) == 0
    assert not first.exists() and not third.exists()
    assert main(["drafts"]) == 0 and "No drafts in" in capsys.readouterr().out


def test_an_unknown_id_deletes_nothing_and_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    (kept,) = _drafts(1)
    assert main(["drafts", "delete", "key0", "nope"]) == 2
    assert "no draft with the id nope" in capsys.readouterr().err
    assert kept.exists()
    assert main(["drafts", "delete"]) == 2  # neither ids nor --all
    assert "name the drafts to delete" in capsys.readouterr().err


def test_drafts_older_than_30_days_are_deleted_at_the_next_start(capsys: pytest.CaptureFixture[str]) -> None:
    old, recent = _drafts(31, 29)
    stranger = drafts_dir() / "notes.yaml"  # not a draft: left alone, whatever its age
    stranger.write_text("my: notes\n")
    os.utime(stranger, (0, 0))
    assert main(["schema"]) == 0  # any command
    err = capsys.readouterr().err
    assert f"Deleted 1 draft not changed for 30 days: {old.name}" in err
    assert not old.exists() and recent.exists() and stranger.exists()
    assert draftfiles.expire() == []  # nothing left to expire, nothing said
