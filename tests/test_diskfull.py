"""A command that fails on a full disk: the failure names the filesystem, how much is free, and what to do."""

from __future__ import annotations

from wizard.engine import diskfull
from wizard.engine.commands import cmd
from wizard.engine.runner import Runner
from wizard.engine.step import RunCommand, Step, StepSettings, Teaching
from wizard.engine.transports.local import LocalTransport

PIP = "OSError: [Errno 28] No space left on device: '/srv/shop/venv/lib/python3.13/site-packages/django/x.py'"


def test_the_paths_named_on_out_of_space_lines_are_found() -> None:
    lines = ["Collecting django", PIP, "dd: error writing '/mnt/small/x': No space left on device",
             "cp: cannot create regular file '/etc/other': Permission denied"]
    assert diskfull.named_paths(lines) == ["/srv/shop/venv/lib/python3.13/site-packages/django/x.py", "/mnt/small/x"]
    assert diskfull.named_paths(["write error: No space left on device"]) == []
    assert not diskfull.disk_full(["Permission denied"])


def test_df_lines_become_disks_tied_to_the_path_written() -> None:
    out = "tmpfs 3072 3072 0 100% /srv\n/dev/sda1 1000000 400000 600000 40% /\n"
    disks = diskfull.parse_df(out, ["/srv/shop/venv/x"])
    assert disks[0] == diskfull.FullDisk("/srv", 3072, 0, "/srv/shop/venv/x")
    assert disks[1].path is None  # "/" holds the path too, but the closer mount is the one written


class Fills(Step):
    name = "fills"
    title = "fills"
    Settings = StepSettings
    teaching = Teaching(why="test")

    def plan(self, s, facts, ctx):
        yield RunCommand("write a big file", cmd("sh", "-c", "echo \"dd: error writing '/no/such/dir/big': No space "
                                                             "left on device\" >&2; exit 1"))


async def test_a_failure_on_a_full_disk_says_which_disk_and_what_to_do() -> None:
    transport = LocalTransport()
    await transport.connect()
    result = await Runner(transport, [(Fills(), StepSettings())], lambda event: None).apply()
    assert not result.ok
    assert "The disk holding / is full:" in result.error and "free of" in result.error
    assert "(writing /no/such/dir/big)" in result.error  # df asked about its nearest existing ancestor
    assert "Free space there (or grow it), then run again." in result.error
