"""Facts against a real shell (this machine, through the local transport): one round trip for many facts.

Runs as any user on any Linux: nothing here needs root or dpkg (a machine without dpkg reports every package
as not installed, which is what the fact promises).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil

from recipes.app_server.facts import EnvAge
from recipes.deploy_user.facts import UserInfo
from recipes.python.facts import OsRelease
from recipes.workers.facts import WorkerUnits
from wizard.engine.facts import FactGatherer, FileInfo, PackagesInstalled, PathInfo
from wizard.engine.transports.local import LocalTransport


async def test_many_facts_cost_one_round_trip(tmp_path) -> None:
    target = tmp_path / "weird name; $(id)"
    target.write_bytes(b"hello\nworld\n")
    os.chmod(target, 0o640)
    transport = LocalTransport()
    await transport.connect()
    before = transport.round_trips
    facts = FactGatherer(transport)
    packages_fact = PackagesInstalled(("dpkg", "surely-not-installed-pkg"))
    wanted = [OsRelease(), packages_fact, FileInfo(str(target)), FileInfo(str(tmp_path / "absent")),
              PathInfo(str(tmp_path)), UserInfo("root"), UserInfo("no-such-user-xyz")]
    values = await facts.gather(wanted)
    assert transport.round_trips - before == 1
    assert values[OsRelease()].get("ID")
    packages = values[packages_fact]
    assert packages["surely-not-installed-pkg"] is None
    assert bool(packages["dpkg"]) == bool(shutil.which("dpkg-query"))
    info = values[FileInfo(str(target))]
    assert info.sha256 == hashlib.sha256(b"hello\nworld\n").hexdigest()
    assert (info.mode, info.owner, info.content) == ("640", getpass.getuser(), b"hello\nworld\n")
    assert values[FileInfo(str(tmp_path / "absent"))] is None
    assert values[PathInfo(str(tmp_path))]["type"] == "directory"
    assert values[UserInfo("root")].uid == 0 and values[UserInfo("root")].home == "/root"
    assert values[UserInfo("no-such-user-xyz")] is None
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


async def test_the_packages_of_many_facts_are_asked_in_one_dpkg_query() -> None:
    """Each dpkg-query reads dpkg's whole database: the packages of every fact of a gather are asked at once, and
    each fact still gets only its own packages, each answered as if asked alone."""
    transport = LocalTransport()
    await transport.connect()
    sent: list[str] = []
    original = transport._exec

    async def record(line, stdin, on_output, timeout):  # noqa: ANN001, ANN202
        sent.append(line)
        return await original(line, stdin, on_output, timeout)

    transport._exec = record  # type: ignore[method-assign]
    web, tools = PackagesInstalled(("dpkg", "surely-not-installed-pkg")), PackagesInstalled(("dpkg", "tar"))
    together = await FactGatherer(transport).gather([web, tools, OsRelease()])
    assert len(sent) == 1 and sent[0].count("dpkg-query") == 1
    assert set(together[web]) == {"dpkg", "surely-not-installed-pkg"} and set(together[tools]) == {"dpkg", "tar"}
    for fact in (web, tools):
        alone = await FactGatherer(transport).gather([fact])
        assert together[fact] == alone[fact]
    assert transport.commands == 1 + 2 + 2  # the probe, dpkg-query with os-release, then each alone


async def test_a_venv_reads_as_made_with_its_python_whichever_tool_wrote_pyvenv_cfg(tmp_path) -> None:
    """python -m venv writes `version = `, uv `version_info = `: both name the Python the venv was made with (a
    venv read as missing would be planned again, and uv refuses to make a venv where one exists)."""
    from recipes.python.facts import VenvPython

    made = {"pip": "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
            "uv": "home = /usr/bin\nimplementation = CPython\nuv = 0.13.9\nversion_info = 3.13.5\nseed = true\n",
            "half-deleted": "version = 3.12.1\n"}
    for name, cfg in made.items():
        (tmp_path / name / "bin").mkdir(parents=True)
        (tmp_path / name / "pyvenv.cfg").write_text(cfg)
        if name != "half-deleted":  # no bin/python: not a venv that runs
            os.symlink(shutil.which("sh") or "/bin/sh", tmp_path / name / "bin" / "python")
    transport = LocalTransport()
    await transport.connect()
    values = await FactGatherer(transport).gather([VenvPython(str(tmp_path / name)) for name in made])
    assert [values[VenvPython(str(tmp_path / name))] for name in made] == ["3.11", "3.13", None]


async def test_worker_units_tell_env_files_from_venv_marks(tmp_path) -> None:
    """The script reads the env files and the venv's marks apart (after its "--"), on a real shell: a venv
    reinstalled after the workers started must restart them, which the env files alone would not show."""
    env, cfg, marker = tmp_path / "app.env", tmp_path / "pyvenv.cfg", tmp_path / "marker"
    for path, when in ((env, 1_700_000_000), (cfg, 1_700_000_500), (marker, 1_700_000_900)):
        path.write_text("x\n")
        os.utime(path, (when, when))
    transport = LocalTransport()
    await transport.connect()
    fact = WorkerUnits("no-such-app-xyz", (str(env), str(tmp_path / "absent.env")), (str(cfg), str(marker)))
    state = (await FactGatherer(transport).gather([fact]))[fact]
    assert (state["env_changed"], state["venv_changed"]) == (1_700_000_000.0, 1_700_000_900.0)
    assert state["instances"] == {}


async def test_env_age_tells_env_files_from_venv_marks(tmp_path) -> None:
    """The same split for the app server's fact (after its "--"), on a real shell: one question for both, so the
    unit's start is read once. No such unit here: never started."""
    env, cfg = tmp_path / "app.env", tmp_path / "pyvenv.cfg"
    for path, when in ((env, 1_700_000_000), (cfg, 1_700_000_900)):
        path.write_text("x\n")
        os.utime(path, (when, when))
    transport = LocalTransport()
    await transport.connect()
    fact = EnvAge("no-such-unit-xyz.service", (str(env),), (str(cfg), str(tmp_path / "absent")))
    age = (await FactGatherer(transport).gather([fact]))[fact]
    assert age == {"started": None, "changed": 1_700_000_000.0, "packages": 1_700_000_900.0}
