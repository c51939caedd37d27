"""Facts against a real shell (this machine, through the local transport): one round trip for many facts."""

from __future__ import annotations

import hashlib
import os

from wizard.engine.facts import (
    CommandExists,
    FactGatherer,
    FileInfo,
    OsRelease,
    PackagesInstalled,
    PathInfo,
    ServiceState,
    UserInfo,
)
from wizard.engine.transports.local import LocalTransport


async def test_many_facts_cost_one_round_trip(tmp_path) -> None:
    target = tmp_path / "weird name; $(id)"
    target.write_bytes(b"hello\nworld\n")
    os.chmod(target, 0o640)
    transport = LocalTransport()
    await transport.connect()
    before = transport.round_trips
    facts = FactGatherer(transport)
    wanted = [OsRelease(), PackagesInstalled(("dpkg", "surely-not-installed-pkg")), FileInfo(str(target)),
              FileInfo(str(tmp_path / "absent")), PathInfo(str(tmp_path)), UserInfo("root"),
              UserInfo("no-such-user-xyz"), CommandExists("sh"), CommandExists("no-such-command-xyz"),
              ServiceState("no-such-unit-xyz")]
    values = await facts.gather(wanted)
    assert transport.round_trips - before == 1
    assert values[OsRelease()]["ID"] in ("debian", "ubuntu")
    packages = values[PackagesInstalled(("dpkg", "surely-not-installed-pkg"))]
    assert packages["dpkg"] and packages["surely-not-installed-pkg"] is None
    info = values[FileInfo(str(target))]
    assert info.sha256 == hashlib.sha256(b"hello\nworld\n").hexdigest()
    assert (info.mode, info.owner, info.content) == ("640", "root", b"hello\nworld\n")
    assert values[FileInfo(str(tmp_path / "absent"))] is None
    assert values[PathInfo(str(tmp_path))]["type"] == "directory"
    assert values[UserInfo("root")].uid == 0 and values[UserInfo("root")].home == "/root"
    assert values[UserInfo("no-such-user-xyz")] is None
    assert values[CommandExists("sh")] is True and values[CommandExists("no-such-command-xyz")] is False
    # cached: asking again costs nothing
    await facts.gather(wanted)
    assert transport.round_trips - before == 1
    facts.invalidate()
    await facts.gather([OsRelease()])
    assert transport.round_trips - before == 2


async def test_binary_and_empty_files(tmp_path) -> None:
    blob = bytes(range(256)) * 10
    (tmp_path / "bin").write_bytes(blob)
    (tmp_path / "empty").write_bytes(b"")
    transport = LocalTransport()
    await transport.connect()
    values = await FactGatherer(transport).gather([FileInfo(str(tmp_path / "bin")), FileInfo(str(tmp_path / "empty"))])
    assert values[FileInfo(str(tmp_path / "bin"))].content == blob
    empty = values[FileInfo(str(tmp_path / "empty"))]
    assert empty is not None and empty.size == 0 and empty.sha256 == hashlib.sha256(b"").hexdigest()
