"""Issue 21 (unit): the backups step's meanings. A dump set up by hand (a script and units of other names, a plain
or gzipped SQL dump) passes with "differs" notes only; a timer that is off, a failed run, a cut-off or empty dump
fail with the reason. The dump probe's own script runs here on real files; the timer probe needs systemd, so its
answers are given (the live proof: tests/live/test_backups.py)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from recipes.backups.meanings import DUMP
from recipes.shared.meanings import Answer, Probe
from tests.test_learn_meanings import _grade
from wizard.engine.facts import Fact

DONE = "-- PostgreSQL database dump complete\n--\n\n"
ROWS = "COPY public.notes (id, body) FROM stdin;\n1\thello\n\\.\n\n"


def _nothing_of_ours(fact: Fact) -> object:
    """The plan's facts on a server where the backup was set up by hand: none of this step's files or units."""
    kind = fact.key.split(":", 1)[0]
    if kind == "calendar":
        return {spec: {"ok": True, "period": 86400} for spec in fact.specs}  # type: ignore[attr-defined]
    return {"timer": {}, "backups": {"sets": [], "now": 1}}.get(kind)


def _answers(timer: Answer = Answer(0, "pgdump.timer"),
             dump: Answer = Answer(0, "/var/backups/pg/demo.sql.gz 3 120")) -> Callable[[Fact], object]:
    def answer(fact: Fact) -> object:
        assert isinstance(fact, Probe)
        return timer if "list-units --type=timer" in fact.script else dump

    return answer


def test_a_dump_timer_set_up_by_hand_passes_with_differences_only() -> None:
    grade = _grade("backups", {}, _answers(), _nothing_of_ours)
    assert [f.what for f in grade.findings] == [
        "a started, enabled timer dumps the database, and its last run did not fail",
        "the newest dump under /var/backups reads back to its end, with the tables' data"]
    assert grade.passed and not grade.missing, [item.why for item in grade.missing]
    differs = " ".join(item.why for item in grade.differs)
    assert "/etc/deploy-wizard/backups/demo/backup.sh" in differs and "demo-drill.timer" in differs, differs


@pytest.mark.parametrize(("timer", "dump", "reason", "missing"), [
    (Answer(3, "pgdump.timer"), None, "pgdump.timer is started but not enabled: it would not run after a reboot "
     "(`systemctl enable pgdump.timer`)", "demo-backup"),
    (Answer(4, "pgdump.timer pgdump.service exit-code"), None, "the last run of pgdump.service (started by "
     "pgdump.timer) failed (exit-code): `journalctl -u pgdump.service` says why", "demo-backup"),
    (Answer(1, ""), None, "no started timer runs pg_dump or mariadb-dump (`systemctl list-timers` lists the "
     "timers; a script the service runs counts too)", "demo-backup"),
    (None, Answer(2, "/var/backups/x.sql"), "the newest dump, /var/backups/x.sql, does not read back to its end: "
     "it is damaged or was cut off; take a new one", "demo-drill"),
    (None, Answer(3, "/var/backups/x.sql"), "the newest dump, /var/backups/x.sql, holds no table's data: was the "
     "database empty, or is it another database?", "demo-drill"),
    (None, Answer(1, ""), "no dump under /var/backups yet: run the backup once (`systemctl start` its service) and "
     "keep the dumps there", "demo-drill"),
])
def test_a_timer_off_a_failed_run_or_a_bad_dump_fails_with_the_reason(timer, dump, reason, missing) -> None:
    answers = _answers(timer) if timer else _answers(dump=dump)
    grade = _grade("backups", {}, answers, _nothing_of_ours)
    assert not grade.passed and grade.reasons()[0] == reason, grade.reasons()
    # the changes that meaning covered are missing again, said in their why (the rest stay differences)
    assert any(missing in item.why + " ".join(item.commands) for item in grade.missing), grade.missing
    assert grade.differs, "the other meaning still holds: its changes are differences"


def _written(path: Path, stamp: int) -> Path:
    os.utime(path, (stamp, stamp))  # which dump is the newest, set rather than left to the clock's resolution
    return path


def _probe(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", DUMP, "sh", str(root)], capture_output=True, text=True, timeout=60)


def test_the_dump_probe_reads_the_newest_dump_to_its_end(tmp_path: Path) -> None:
    """The probe's script on real files: plain and gzipped SQL read to their closing line, the newest wins, a set
    being written (.partial-*) is not a dump yet."""
    assert _probe(tmp_path).returncode == 1  # nothing there yet
    old = tmp_path / "old.sql"
    old.write_text("--\n" + ROWS + ROWS + DONE)
    _written(old, 1000)
    done = _probe(tmp_path)
    assert done.returncode == 0 and done.stdout.split()[:2] == [str(old), "2"], done
    cut = tmp_path / "sub" / "demo.sql.gz"
    cut.parent.mkdir()
    cut.write_bytes(gzip.compress((ROWS + DONE).encode())[:-12])  # a gzip cut off before its end
    _written(cut, 2000)
    assert (_probe(tmp_path).returncode, _probe(tmp_path).stdout.strip()) == (2, str(cut))
    cut.write_bytes(gzip.compress(("SET x = 1;\n" + DONE).encode()))  # whole, but no table's data in it
    _written(cut, 2000)
    assert (_probe(tmp_path).returncode, _probe(tmp_path).stdout.strip()) == (3, str(cut))
    cut.write_bytes(gzip.compress((ROWS + "INSERT INTO t VALUES (1);\n-- Dump completed on 2026-12-05\n").encode()))
    _written(cut, 2000)
    assert _probe(tmp_path).stdout.split()[:2] == [str(cut), "2"]  # mariadb-dump's closing line
    partial = tmp_path / ".partial-20261205T010000Z-manual" / "db.sql"
    partial.parent.mkdir()
    partial.write_text(ROWS)  # newer, being written: not the newest dump
    _written(partial, 3000)
    assert _probe(tmp_path).stdout.split()[0] == str(cut)
    plain_cut = tmp_path / "newest.sql"
    plain_cut.write_text(ROWS)  # a plain dump without its closing line: cut off
    _written(plain_cut, 4000)
    assert (_probe(tmp_path).returncode, _probe(tmp_path).stdout.strip()) == (2, str(plain_cut))


def test_the_dump_probe_reads_no_link_and_no_fifo_a_user_left_there(tmp_path: Path) -> None:
    """The probe runs as root over a folder where a less-privileged user may own a subfolder: a symbolic link
    there (to a file root can read and that user cannot) is not followed, a FIFO does not hang it; the newest
    regular dump is read (as nobody, when run as root)."""
    real = tmp_path / "real.sql"
    real.write_text(ROWS + DONE)
    _written(real, 1000)
    secret = tmp_path.parent / f"{tmp_path.name}-outside.sql"
    secret.write_text(ROWS + ROWS + ROWS + DONE)  # a dump-looking file outside: 3 tables' data
    user_dir = tmp_path / "someone"
    user_dir.mkdir()
    link = user_dir / "newest.sql"
    link.symlink_to(secret)
    os.utime(link, (5000, 5000), follow_symlinks=False)
    os.mkfifo(user_dir / "hang.sql")  # opened for reading, a FIFO blocks until someone writes
    _written(user_dir / "hang.sql", 6000)
    done = _probe(tmp_path)
    assert done.returncode == 0 and done.stdout.split()[:2] == [str(real), "1"], done
    secret.unlink()


def test_a_line_break_in_a_name_cannot_point_the_probe_at_another_file(tmp_path: Path) -> None:
    """A folder named "z<newline>9999999999 " holding the path of a file elsewhere: read line by line, the find
    output would name that other file, newest of all, and root would read it. Read NUL-separated, the name stays
    whole and the file under the folder is what is read."""
    outside = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        secret = outside / "secret.sql"
        secret.write_text(ROWS + ROWS + ROWS + DONE)  # 3 tables' data: the file the name points at
        decoy = tmp_path / "z\n9999999999 " / str(secret).lstrip("/")
        decoy.parent.mkdir(parents=True)
        decoy.write_text(ROWS + DONE)  # 1 table's data: the file really there
        done = _probe(tmp_path)
        assert done.returncode == 0 and done.stdout.split()[-2] == "1", done
    finally:
        shutil.rmtree(outside)
