"""The restic copy's password (unit): a changed offsite_password is written beside the working file and put in
place only once the repository accepts it; refused, the step fails naming the field and the working file stays.
The check-and-move command runs here for real, with a stand-in `restic` on PATH that answers as restic does
(the live proof of restic itself: tests/live/test_private_repo_mariadb.py). And a plan on a fresh server says
the repository check that apply makes in a later pass (a Later), instead of saying nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from recipes.backups import restic
from recipes.backups.facts import SecretFile
from recipes.backups.offsite import Place
from wizard.engine.commands import Secret
from wizard.engine.facts import FactValues, FileState
from wizard.engine.step import Later, PutFile, RunCommand

# stands in for restic: the repository's password is "right"; REPO_ABSENT=1 plays a repository not made yet
FAKE_RESTIC = """#!/bin/sh
[ -n "$REPO_ABSENT" ] && { echo "Fatal: unable to open config file: <config/> does not exist" >&2; exit 10; }
[ "$(cat "$RESTIC_PASSWORD_FILE")" = right ] && { echo '{"version":2}'; exit 0; }
echo "Fatal: wrong password or no key found" >&2; exit 12
"""


def _place(folder: Path) -> Place:
    return Place.of("backup@10.0.0.7:/srv/backups/shop", 22, str(folder))


def _facts(place: Place, old: FileState | None, repo: dict | None) -> FactValues:
    return FactValues({SecretFile(restic.password_file(place)).key: old, restic.facts(place)[1].key: repo})


OLD = FileState("0" * 64, "600", "root", "root", 6, None)


def _plan(place: Place, old: FileState | None, repo: dict | None, ready: bool = True, others: bool = False) -> list:
    return list(restic.plan(place, Secret("restic password", "wrong"), _facts(place, old, repo), ready, others))


def _run(command: RunCommand, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "restic").write_text(FAKE_RESTIC)
    (bin_dir / "restic").chmod(0o755)
    return subprocess.run(["sh", "-c", command.command.shell()], capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env})


def test_a_changed_password_goes_beside_the_working_file_and_is_checked_before_it_replaces_it(tmp_path: Path) -> None:
    place = _place(tmp_path)
    items = _plan(place, OLD, {"state": "ok", "detail": ""})
    put, check = [i for i in items if isinstance(i, PutFile | RunCommand)]
    assert isinstance(put, PutFile) and put.path == restic.password_file(place) + ".new" and put.mode == "0600"
    assert isinstance(check, RunCommand) and "cat config" in check.command.summary()
    working, new = Path(restic.password_file(place)), Path(put.path)
    working.write_text("right")
    new.write_text("wrong")  # as the PutFile leaves it
    refused = _run(check, tmp_path)
    assert refused.returncode != 0
    assert "backups.offsite_password" in refused.stderr and "wrong password" in refused.stderr
    assert working.read_text() == "right" and not new.exists()  # the nightly copy keeps working
    new.write_text("right")  # the operator sets the rotated password the repository takes
    assert _run(check, tmp_path).returncode == 0
    assert working.read_text() == "right" and not new.exists()


def test_without_a_repository_yet_the_new_password_is_put_in_place_for_restic_init(tmp_path: Path) -> None:
    place = _place(tmp_path)
    check = next(i for i in _plan(place, OLD, None) if isinstance(i, RunCommand))
    Path(restic.password_file(place)).write_text("old")
    Path(restic.password_file(place) + ".new").write_text("new")
    assert _run(check, tmp_path, REPO_ABSENT="1").returncode == 0
    assert Path(restic.password_file(place)).read_text() == "new"


def test_the_first_password_is_written_in_place_and_the_plan_says_the_repository_check_comes_later(
        tmp_path: Path) -> None:
    place = _place(tmp_path)
    items = _plan(place, None, None, ready=False)
    puts = [i for i in items if isinstance(i, PutFile)]
    assert [p.path for p in puts] == [restic.password_file(place)]
    later = [i for i in items if isinstance(i, Later)]
    assert len(later) == 1 and "restic init" in later[0].why


def test_no_later_alone_in_a_pass_without_other_changes(tmp_path: Path) -> None:
    """A pass that holds nothing but a Later cannot run (the engine says the step cannot decide)."""
    place = _place(tmp_path)
    assert not [i for i in _plan(place, _same(place), None, ready=False) if isinstance(i, Later)]
    assert [i for i in _plan(place, _same(place), None, ready=False, others=True) if isinstance(i, Later)]


def _same(place: Place) -> FileState:
    """The working password file as the plan wants it ("wrong\\n", 0600 root)."""
    change = next(i for i in _plan(place, None, None) if isinstance(i, PutFile))
    state = change.leaves[0][1]
    return FileState(state.sha256, state.mode, state.owner, state.group, state.size, None)
