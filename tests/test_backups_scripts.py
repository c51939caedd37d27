"""The backups step's scripts, rendered as a server gets them and run here on real directories (unit): the
off-server parts with the copy as a local directory (rsync needs no ssh for that) and a stand-in `restic`.
What they prove: a rebuilt server's first backups do not mirror the old server's sets away; a fetch that was cut
off never blocks the next one. The live proofs, over ssh to another host: tests/live/test_backups.py (rsync),
tests/live/test_private_repo_mariadb.py (restic)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from recipes.backups.step import render

SET = "{}T030000Z-scheduled"


def _script(tmp_path: Path, name: str, offsite: str) -> Path:
    values = {"APP": "demo", "APP_USER": "demo", "ENGINE": "none", "DB": "", "MEDIA": "", "DIR": str(tmp_path / "here"),
              "CURRENT": str(tmp_path / "current"), "KEEP_DAILY": "7", "KEEP_WEEKLY": "4", "RESERVE_MB": "0",
              "OFFSITE": str(tmp_path / "there"), "OFFSITE_SSH": "ssh", "RESTIC_REPOSITORY": "sftp:u@h:/r",
              "RESTIC_PASSWORD_FILE": str(tmp_path / "pw"), "RESTIC_SFTP": "ssh"}
    path = tmp_path / name
    path.write_text(render(f"{name}.j2", conf="\n".join(f"{k}={shlex.quote(v)}" for k, v in values.items()),
                           app="demo", offsite=offsite))
    return path


def _run(script: Path, *args: str, path: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"]}
    return subprocess.run(["sh", str(script), *args], capture_output=True, text=True, timeout=60, env=env,
                          check=False)


def _sets(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name[:1].isdigit())


@pytest.mark.skipif(shutil.which("rsync") is None, reason="needs rsync")
def test_a_rebuilt_servers_backups_keep_the_old_servers_sets_in_the_copy(tmp_path: Path) -> None:
    backup = _script(tmp_path, "backup.sh", "rsync")
    old = [SET.format("20261101"), SET.format("20261102")]
    for name in old:
        (tmp_path / "there" / name).mkdir(parents=True)
    first = _run(backup, "manual")
    assert first.returncode == 0, first.stderr
    assert f"the copy's newest set, {old[1]}, is not one of this server's" in first.stdout  # said in the journal
    mine = _sets(tmp_path / "here")
    assert _sets(tmp_path / "there") == sorted(old + mine)
    again = _run(backup, "scheduled")  # the copy's newest is this server's now: the old sets stay all the same
    assert again.returncode == 0 and "keeping 2 sets" in again.stdout, again
    assert set(old) <= set(_sets(tmp_path / "there"))


@pytest.mark.skipif(shutil.which("rsync") is None, reason="needs rsync")
def test_on_a_server_that_made_the_copy_a_set_rotated_out_here_goes_there_too(tmp_path: Path) -> None:
    backup = _script(tmp_path, "backup.sh", "rsync")
    (tmp_path / "there").mkdir()  # as the plan finds it (its login reads the free space there)
    assert _run(backup, "manual").returncode == 0
    gone = SET.format("20261101")
    (tmp_path / "here" / SET.format("20261101")).mkdir()
    assert _run(backup, "scheduled").returncode == 0 and gone in _sets(tmp_path / "there")
    shutil.rmtree(tmp_path / "here" / gone)  # as rotation removes it
    done = _run(backup, "premigrate-r1")
    assert done.returncode == 0 and "not one of this server's" not in done.stdout, done
    assert gone not in _sets(tmp_path / "there") and _sets(tmp_path / "there") == _sets(tmp_path / "here")


FAKE_RESTIC = """#!/bin/sh
t=""; while [ $# -gt 0 ]; do [ "$1" = --target ] && t=$2; shift; done
[ -n "$t" ] || exit 1
echo restore >> "$CALLS"
d="$t$DIR/20261204T031500Z-manual"; mkdir -p "$d" && echo owner=x > "$d/meta" && : > "$d/counts"
"""


def test_a_restic_fetch_cut_off_before_never_blocks_the_next_and_a_set_here_is_not_downloaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    restore = _script(tmp_path, "restore.sh", "restic")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "restic").write_text(FAKE_RESTIC)
    (bin_dir / "restic").chmod(0o755)
    here = tmp_path / "here"
    (here / ".partial-fetch.set" / "x").mkdir(parents=True)  # left by a fetch killed between two moves
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("DIR", str(here))  # where the stand-in unpacks, as restic restores the absolute paths
    got = _run(restore, "fetch", "latest", path=str(bin_dir))
    assert got.returncode == 0 and got.stdout.strip().endswith("set=20261204T031500Z-manual"), got
    assert sorted(p.name for p in here.iterdir()) == ["20261204T031500Z-manual"]  # no leftovers
    again = _run(restore, "fetch", "20261204T031500Z-manual", path=str(bin_dir))
    assert again.returncode == 0 and "here already" in again.stdout
    assert (tmp_path / "calls").read_text().count("restore") == 1  # not downloaded again
    for bad in ("2026", "20261204T031500Z-a b", "20261204T031500Z-", "../x"):
        refused = _run(restore, "fetch", bad, path=str(bin_dir))
        assert refused.returncode == 1 and "not a backup set name" in refused.stderr, bad


def test_restic_thins_the_copy_after_scheduled_backups_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`forget --prune` rewrites packs there and can take long: a deploy waits on its pre-migration dump."""
    backup = _script(tmp_path, "backup.sh", "restic")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "restic").write_text('#!/bin/sh\necho "$1 $2 $3 $4 $5" >> "$CALLS"\n')
    (bin_dir / "restic").chmod(0o755)
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    for kind in ("premigrate-r1", "manual", "scheduled"):
        assert _run(backup, kind, path=str(bin_dir)).returncode == 0
    calls = [line.split()[3] for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls == ["backup", "backup", "backup", "forget"], calls


@pytest.mark.skipif(shutil.which("rsync") is None, reason="needs rsync")
def test_a_set_fetched_onto_a_rebuilt_server_leaves_the_old_servers_other_sets_kept_by_its_backups(
        tmp_path: Path) -> None:
    old = [SET.format("20261101"), SET.format("20261102")]
    for name in old:
        (tmp_path / "there" / name).mkdir(parents=True)
        (tmp_path / "there" / name / "meta").write_text("kind=scheduled\n")
        (tmp_path / "there" / name / "counts").write_text("")
    (tmp_path / "here").mkdir()  # as the plan leaves it, with no set of its own
    fetched = _run(_script(tmp_path, "restore.sh", "rsync"), "fetch", "latest")
    assert fetched.returncode == 0 and fetched.stdout.strip().endswith(f"set={old[1]}"), fetched
    backup = _script(tmp_path, "backup.sh", "rsync")
    done = _run(backup, "manual")  # the copy's newest is here now (fetched): a mirror, but the older one stays
    assert done.returncode == 0 and "keeping 1 sets" in done.stdout, done
    assert old[0] in _sets(tmp_path / "there")
