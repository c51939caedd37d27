"""os_updates' upgrade simulation is skipped only while nothing it reads changed since an apply's found nothing.

The real script (recipes/os_updates/facts.skip_or_simulate) runs in this machine's shell, on a folder of stand-in
inputs (lists, dpkg's status, /etc/apt) with a stand-in simulator that logs each run: whether apt would have run
is read from that log, not guessed. No root needed: the record's owner is this user here. The live proof that a
new upgradable package is still seen is tests/live/test_fresh_plan.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from recipes.os_updates.facts import SKIPPED, UPGRADE_INPUTS, Upgradable, skip_or_simulate

# prints what the test put in `answer` (apt-get -s lines) and exits with `rc`; logs every run
FAKE = 'echo "$mode" >> "$DW_TEST_DIR/ran"; cat "$DW_TEST_DIR/answer"; exit "$(cat "$DW_TEST_DIR/rc")"'
NOTHING = "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
PENDING = "Inst libc6 [2.41-12] (2.41-12+deb13u1 Debian-Security:13/stable-security [amd64])\nConf libc6\n"


class Box:
    """Stand-in inputs and a record folder under tmp_path, and the fact's script run against them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("etc/apt/sources.list.d", "lists", "dpkg/updates"):
            (root / name).mkdir(parents=True)
        (root / "etc/apt/sources.list.d/debian.sources").write_text("Types: deb\n")
        (root / "lists/deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages").write_text("Package: a\n")
        (root / "dpkg/status").write_text("Package: a\nStatus: install ok installed\nVersion: 1\n")
        self.inputs = (str(root / "etc/apt"), str(root / "lists"), str(root / "dpkg/status"),
                       str(root / "dpkg/updates"))
        self.record = root / "record"
        self.answer(NOTHING)

    def answer(self, text: str, rc: int = 0) -> None:
        (self.root / "answer").write_text(text)
        (self.root / "rc").write_text(str(rc))

    def runs(self) -> int:
        ran = self.root / "ran"
        return len(ran.read_text().split()) if ran.exists() else 0

    def ask(self, *, record: bool = True, mode: str = "upgrade", owner: int | None = None) -> list[str]:
        command = skip_or_simulate(mode, FAKE, record=record, folder=str(self.record), inputs=self.inputs,
                                   owner=os.getuid() if owner is None else owner)
        done = subprocess.run(["sh", "-c", command.shell()], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "DW_TEST_DIR": str(self.root)})
        assert done.returncode == 0, done.stderr
        self.out = done.stdout
        return Upgradable(mode).parse(done.stdout, done.returncode)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


def test_an_applys_empty_answer_is_kept_and_the_next_run_does_not_simulate(box: Box) -> None:
    assert box.ask() == [] and box.runs() == 1
    assert (box.record / "nothing-to-upgrade").read_text().startswith("upgrade ")
    assert oct(box.record.stat().st_mode & 0o777) == "0o755"
    assert box.ask() == [] and box.runs() == 1  # the same inputs: the same answer, without apt
    assert box.out.strip() == SKIPPED
    assert box.ask(record=False) == [] and box.runs() == 1  # plan and check read the record too


@pytest.mark.parametrize("change", ["lists refreshed", "list rewritten, same size", "dpkg status rewritten",
                                    "package held (status touched)", "source added", "dpkg run in progress",
                                    "list removed"])
def test_any_change_to_what_apt_reads_simulates_again(box: Box, change: str) -> None:
    box.ask()
    lists = box.root / "lists"
    status = box.root / "dpkg/status"
    if change == "lists refreshed":  # apt-get update: a new file renamed over the old one
        (lists / "new").write_text("Package: a\nVersion: 2\n")
        os.replace(lists / "new", lists / "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages")
    elif change == "list rewritten, same size":  # even with the mtime set back, the ctime moves
        path = lists / "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages"
        before = path.stat()
        path.write_text("Package: b\n")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif change == "dpkg status rewritten":  # a package installed by hand, or by unattended-upgrades
        status.write_text("Package: a\nStatus: install ok installed\nVersion: 0.9\n")
    elif change == "package held (status touched)":
        os.utime(status, (1, 1))
    elif change == "source added":
        (box.root / "etc/apt/sources.list.d/backports.sources").write_text("Types: deb\n")
    elif change == "dpkg run in progress":
        (box.root / "dpkg/updates/0001").write_text("")
    else:
        (lists / "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages").unlink()
    box.answer(PENDING)
    assert box.ask() == ["libc6"] and box.runs() == 2


def test_a_pending_or_failed_simulation_is_not_kept(box: Box) -> None:
    box.answer(PENDING)
    assert box.ask() == ["libc6"] and box.ask() == ["libc6"] and box.runs() == 2
    assert not (box.record / "nothing-to-upgrade").exists()
    box.answer("", rc=100)  # apt-get failed (a broken list): its silence is no answer to keep
    assert box.ask() == [] and box.ask() == [] and box.runs() == 4
    assert not (box.record / "nothing-to-upgrade").exists()


def test_plan_and_check_write_nothing(box: Box) -> None:
    assert box.ask(record=False) == [] and box.ask(record=False) == [] and box.runs() == 2
    assert not box.record.exists()


def test_each_mode_has_its_own_record(box: Box) -> None:
    box.ask(mode="upgrade")
    box.answer("Inst linux-image-amd64 [6.12.1] (6.12.9 Debian:13/stable [amd64])\n")
    assert box.ask(mode="dist-upgrade") == ["linux-image-amd64"] and box.runs() == 2
    assert box.ask(mode="upgrade") == [] and box.runs() == 2


def test_a_change_during_the_simulation_leaves_the_record_stale(box: Box) -> None:
    """The inputs are read before apt runs: an install that lands meanwhile is seen by the next run."""
    status = box.root / "dpkg/status"
    box.answer(NOTHING)
    fake = FAKE.replace("cat ", f"echo changed >> {status}; cat ", 1)
    command = skip_or_simulate("upgrade", fake, record=True, folder=str(box.record), inputs=box.inputs,
                               owner=os.getuid())
    subprocess.run(["sh", "-c", command.shell()], check=True, capture_output=True, timeout=30,
                   env={**os.environ, "DW_TEST_DIR": str(box.root)})
    assert box.runs() == 1 and (box.record / "nothing-to-upgrade").exists()
    assert box.ask() == [] and box.runs() == 2


@pytest.mark.parametrize("how", ["record writable by others", "folder writable by others", "someone else's",
                                 "record is a link", "folder is a link"])
def test_a_record_anyone_but_its_owner_could_write_is_not_trusted(box: Box, how: str) -> None:
    box.ask()
    record = box.record / "nothing-to-upgrade"
    owner = None
    if how == "record writable by others":
        record.chmod(0o666)
    elif how == "folder writable by others":
        box.record.chmod(0o777)
    elif how == "someone else's":
        owner = os.getuid() + 1
    elif how == "record is a link":
        (box.root / "forged").write_text(record.read_text())
        record.unlink()
        record.symlink_to(box.root / "forged")
    else:
        box.record.rename(box.root / "real")
        box.record.symlink_to(box.root / "real")
    assert box.ask(owner=owner) == [] and box.runs() == 2


def test_only_an_apply_keeps_the_answer_and_the_key_is_the_question() -> None:
    applying, planning = Upgradable("upgrade", record=True), Upgradable("upgrade")
    assert applying.key == planning.key == "upgradable:upgrade"
    assert "record" in applying.command().bits and "read" in planning.command().bits
    assert all(path in planning.command().bits for path in UPGRADE_INPUTS)
    assert planning.command().display == "apt-get -s upgrade | awk '/^Inst /{print $2}'"


def test_a_loose_umask_still_leaves_a_record_only_root_can_write(box: Box) -> None:
    old = os.umask(0o002)
    try:
        box.ask()
    finally:
        os.umask(old)
    assert oct((box.record / "nothing-to-upgrade").stat().st_mode & 0o777) == "0o644"
    assert box.ask() == [] and box.runs() == 1
