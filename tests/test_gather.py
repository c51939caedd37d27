"""The gather's own scripts, run for real in this machine's shell (wizard/engine/gather.py): fact commands in lanes,
and many files or paths read by one script, each giving the same answer as the fact asked alone."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from wizard.engine import facts as facts_module
from wizard.engine.commands import Masker, Secret
from wizard.engine.facts import FactGatherer, FileInfo, FilesInfo, PathInfo, PathsInfo
from wizard.engine.gather import MARK, gather_script
from wizard.engine.transports.local import LocalTransport


def run(script: str) -> str:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout


def answers(out: str) -> dict[int, tuple[str, int]]:
    """index -> (output, status), as FactGatherer reads them."""
    found: dict[int, tuple[str, int]] = {}
    current, lines = None, []
    for line in out.splitlines():
        if line.startswith(MARK + "-END "):
            _mark, index, status = line.split()
            found[int(index)] = ("\n".join(lines[:-1] if lines and lines[-1] == "" else lines), int(status))
            current = None
        elif line.startswith(MARK + " "):
            current, lines = int(line.split()[1]), []
        elif current is not None:
            lines.append(line)
    return found


@pytest.mark.parametrize("lanes", [1, 3, 4, 20])
def test_every_answer_comes_back_in_order_with_its_own_status(lanes: int, tmp_path) -> None:
    lines = [f"echo answer {i}; exit {i % 3}" for i in range(9)] + ["printf 'two\\nlines'", "cat", "echo late >&2"]
    found = answers(run(f"export TMPDIR={tmp_path}; " + gather_script(lines, lanes)))
    assert [found[i] for i in range(9)] == [(f"answer {i}", i % 3) for i in range(9)]
    assert found[9] == ("two\nlines", 0)
    assert found[10] == ("", 0)  # stdin is /dev/null: a command that reads it does not wait or steal the script's
    assert found[11] == ("", 0)  # stderr is dropped, as it always was
    assert list(tmp_path.iterdir()) == []  # the private directory is gone


def test_without_a_private_directory_the_commands_run_one_after_the_other_with_the_same_answers(tmp_path) -> None:
    """A full or read-only /tmp (mktemp -d fails): reading the server must not depend on writing to it."""
    lines = [f"echo answer {i}; exit {i % 3}" for i in range(6)] + ["cd /; exit 9", "pwd", "cat"]
    gone = tmp_path / "no-such-dir"
    alone = answers(run(f"export TMPDIR={gone}; " + gather_script(lines, 4)))
    assert alone == answers(run(f"export TMPDIR={tmp_path}; " + gather_script(lines, 4)))
    assert alone[6] == ("", 9)
    assert alone[8] == ("", 0)


def test_a_command_runs_in_a_subshell_of_its_own(tmp_path) -> None:
    for tmp in (tmp_path, tmp_path / "no-such-dir"):
        found = answers(run(f"export TMPDIR={tmp}; cd {tmp_path}; " + gather_script(["cd /; exit 9", "pwd"], 1)))
        assert found == {0: ("", 9), 1: (str(tmp_path), 0)}


def test_lanes_run_at_the_same_time_but_never_more_than_asked(tmp_path) -> None:
    """Each command notes itself in a directory while it runs: the most seen at once is the number of lanes."""
    note = tmp_path / "running"
    note.mkdir()
    line = (f'touch "{note}/$$.$(od -An -N4 -tu4 /dev/urandom | tr -d " ")"; sleep 0.2; ls "{note}" | wc -l '
            f'>> "{tmp_path}/seen"; rm -f "{note}"/$$.*')
    line = f"sh -c '{line}'"
    run(gather_script([line] * 8, 3))
    seen = [int(n) for n in (tmp_path / "seen").read_text().split()]
    assert max(seen) >= 2 and max(seen) <= 3


async def test_many_files_read_together_answer_as_each_read_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(facts_module, "CONTENT_LIMIT", 64)
    (tmp_path / "text").write_text("hello\nworld\n")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "binary").write_bytes(bytes(range(60)))
    (tmp_path / "big").write_bytes(b"x" * 65)  # above the (lowered) limit: its hash, not its content
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "text")
    weird = tmp_path / "we ird; $(id) 'x'"
    weird.write_text("quoted\n")
    os.chmod(tmp_path / "text", 0o640)
    paths = [str(tmp_path / name) for name in ("text", "empty", "binary", "big", "dir", "link", "absent")]
    paths.append(str(weird))
    transport = LocalTransport()
    await transport.connect()
    alone = {path: (await FactGatherer(transport).gather([FileInfo(path)]))[FileInfo(path)] for path in paths}
    before = transport.round_trips
    together = await FactGatherer(transport).gather([FileInfo(path) for path in paths])
    assert transport.round_trips - before == 1
    assert {path: together[FileInfo(path)] for path in paths} == alone
    assert alone[str(tmp_path / "big")].content is None and alone[str(tmp_path / "big")].sha256
    assert alone[str(tmp_path / "empty")].content == b""
    assert alone[str(tmp_path / "dir")] is None and alone[str(tmp_path / "absent")] is None
    # one command for all of them
    assert FileInfo.together([FileInfo(path) for path in paths]) == FilesInfo(tuple(paths))


async def test_many_paths_read_together_answer_as_each_read_alone(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir(mode=0o750)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    paths = [str(tmp_path / name) for name in ("file", "dir", "dangling", "absent")] + [str(tmp_path)]
    transport = LocalTransport()
    await transport.connect()
    alone = {path: (await FactGatherer(transport).gather([PathInfo(path)]))[PathInfo(path)] for path in paths}
    together = await FactGatherer(transport).gather([PathInfo(path) for path in paths])
    assert {path: together[PathInfo(path)] for path in paths} == alone
    assert alone[str(tmp_path / "dir")]["type"] == "directory" and alone[str(tmp_path / "absent")] is None
    assert PathInfo.together([PathInfo(path) for path in paths]) == PathsInfo(tuple(paths))


def test_a_file_that_cannot_be_read_is_present_without_content() -> None:
    out = "@@DW-FILE\n640 root root 5\nunreadable\n@@DW-FILE\nabsent\n"
    found = FilesInfo(("/a", "/b")).parse(out, 0)
    assert found["/a"] is not None and found["/a"].content is None and found["/a"].size == 5
    assert found["/b"] is None


async def test_a_file_holding_a_secret_keeps_its_true_hash_when_its_content_comes_back_masked(tmp_path) -> None:
    """The output of every command is masked, base64 forms included; a file whose base64 holds a secret's (here
    the whole line, at offset 0, 3 bytes a group) comes back masked, and its hash must still be the file's."""
    line = "DATABASE_URL=postgresql://demo:s3cret-pw@127.0.0.1:5432/demo"
    assert len(line) % 3 == 0
    (tmp_path / "env").write_text(line + "\n")
    (tmp_path / "other").write_text("x\n")
    paths = [str(tmp_path / "env"), str(tmp_path / "other")]
    transport = LocalTransport(masker=Masker([Secret("url", line)]))
    await transport.connect()
    together = await FactGatherer(transport).gather([FileInfo(path) for path in paths])
    state = together[FileInfo(paths[0])]
    assert state is not None
    assert state.sha256 == hashlib.sha256((line + "\n").encode()).hexdigest()
    assert state.content is None  # masked: not the file's, so not shown as its content
    alone = (await FactGatherer(transport).gather([FileInfo(paths[0])]))[FileInfo(paths[0])]
    assert alone == state  # asked alone, the same script and parser
