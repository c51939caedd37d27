"""Host keys on record: a changed key names each key on record, its file and line, and the `ssh-keygen -R` that
really removes it; `@revoked` is honoured; a bad line skips that line only; an unreadable file is reported."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import asyncssh
import pytest

from tests.test_transport_ssh import Server
from wizard.app.recipefile import parse
from wizard.app.session import Questions, run_recipe
from wizard.engine.events import Event, Notice
from wizard.engine.hostkeys import HostKeyChanged, HostKeyRevoked, HostKeyStore, HostKeyUnknown, fingerprint_of

OTHER = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()


@pytest.fixture
async def server(tmp_path: Path):
    srv = Server(tmp_path, nopasswd=True)
    await srv.start()
    yield srv
    srv.server.close()


def known_hosts(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "home known_hosts"  # a space: the command must quote it
    path.write_text(text)
    return path


async def test_a_changed_key_names_the_key_on_record_its_file_and_the_command_that_removes_it(
        server: Server, tmp_path: Path) -> None:
    file = known_hosts(tmp_path, f"# mine\nelsewhere {OTHER}\n[127.0.0.1]:{server.port} {OTHER}\n")
    store = HostKeyStore(tmp_path / "ours", openssh_files=[file])
    with pytest.raises(HostKeyChanged) as info:
        await server.transport(store).connect()
    message = str(info.value)
    assert f"it now presents {fingerprint_of(server.host_key_line)}, but the key on record is:\n" in message
    assert f"  {fingerprint_of(OTHER)}  {file}:3\n" in message
    command = f"ssh-keygen -R '[127.0.0.1]:{server.port}' -f '{file}'"
    assert f"\n  {command}\nand connect again." in message
    if shutil.which("ssh-keygen"):  # the command does what it says: the old key goes, the other host's stays
        subprocess.run(shlex.split(command), check=True, capture_output=True)
        assert file.read_text().splitlines() == ["# mine", f"elsewhere {OTHER}"]
        with pytest.raises(HostKeyUnknown):  # no longer changed: new, and asked about
            await server.transport(HostKeyStore(tmp_path / "ours", openssh_files=[file])).connect()


def test_port_22_is_named_bare_and_a_key_recorded_under_the_address_by_the_address(tmp_path: Path) -> None:
    file = known_hosts(tmp_path, f"web1.example.com {OTHER}\n10.0.0.5 {OTHER}\n")
    store = HostKeyStore(tmp_path / "ours", openssh_files=[file])
    by_name, by_address = store.known("web1.example.com", "10.0.0.5", 22)
    assert (by_name.pattern, by_name.line, by_address.pattern, by_address.line) == ("web1.example.com", 1,
                                                                                      "10.0.0.5", 2)
    assert by_name.removal() == f"ssh-keygen -R web1.example.com -f '{file}'"


async def test_a_revoked_key_is_refused_even_when_it_is_also_trusted_or_pinned(server: Server, tmp_path: Path) -> None:
    pattern = f"[127.0.0.1]:{server.port}"
    file = known_hosts(tmp_path, f"{pattern} {server.host_key_line}\n@revoked * {server.host_key_line}\n")
    store = HostKeyStore(tmp_path / "ours", openssh_files=[file])
    assert store.trusted_keys("127.0.0.1", "127.0.0.1", server.port) == []
    for pin in (None, fingerprint_of(server.host_key_line)):
        with pytest.raises(HostKeyRevoked) as info:
            await server.transport(store, host_key=pin).connect()
        assert f"which {file} (line 2) marks @revoked" in str(info.value)


async def test_a_revoked_key_is_never_offered_for_trust(server: Server, tmp_path: Path) -> None:
    file = known_hosts(tmp_path, f"@revoked [127.0.0.1]:{server.port} {server.host_key_line}\n")
    offered = []

    async def trust(*args: object) -> bool:
        offered.append(args)
        return True

    with pytest.raises(HostKeyRevoked):
        await server.transport(HostKeyStore(tmp_path / "ours", openssh_files=[file]), trust_callback=trust).connect()
    assert offered == []


@pytest.mark.parametrize("bad", ["garbage", "@bogus host ssh-ed25519 AAAA", "|1|xx|yy ssh-ed25519 AAAA",
                                 "host ssh-ed25519 AAAA!!notbase64", "host ssh-ed25519"])
async def test_a_malformed_line_skips_that_line_only_and_says_so(server: Server, tmp_path: Path, bad: str) -> None:
    file = known_hosts(tmp_path, f"{bad}\n[127.0.0.1]:{server.port} {server.host_key_line}\n")
    store = HostKeyStore(tmp_path / "ours", openssh_files=[file])
    transport = server.transport(store)
    await transport.connect()  # the good line still trusts the server
    await transport.close()
    assert len(transport.warnings()) == 1
    assert transport.warnings()[0].startswith(f"{file}, line 1: not a known_hosts entry (")
    assert transport.warnings()[0].endswith("); that line is skipped")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_a_file_without_read_permission_is_reported(tmp_path: Path) -> None:
    file = known_hosts(tmp_path, f"web1 {OTHER}\n")
    file.chmod(0)
    store = HostKeyStore(tmp_path / "ours", openssh_files=[file])
    assert store.trusted_keys("web1", None, 22) == []
    assert store.problems == [f"cannot read {file} (Permission denied): no host key in it is trusted"]


def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    unreadable = tmp_path / "known_hosts"
    unreadable.mkdir()  # reading a directory fails for root too
    store = HostKeyStore(tmp_path / "ours", openssh_files=[unreadable])
    assert store.trusted_keys("web1", None, 22) == []
    assert store.problems == [f"cannot read {unreadable} (Is a directory): no host key in it is trusted"]


async def test_a_run_says_what_it_skipped_in_known_hosts(server: Server, tmp_path: Path) -> None:
    """The session tells the operator once connected (a Notice), so a broken file is not silently half-read."""
    from wizard.engine.transports.ssh import SSHTransport

    file = known_hosts(tmp_path, f"@bogus x y z\n[127.0.0.1]:{server.port} {server.host_key_line}\n")
    recipe = parse(f"version: 1\nname: shop\ntarget: {{host: 127.0.0.1, port: {server.port}}}\nsteps: {{}}\n")
    events: list[Event] = []

    def factory() -> SSHTransport:
        return server.transport(HostKeyStore(tmp_path / "ours", openssh_files=[file]))

    result = await run_recipe(recipe, "plan", events.append, Questions(), transport_factory=factory)
    assert result.ok, result.error
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == [f"{file}, line 1: not a known_hosts entry (Invalid known hosts marker: bogus); that line is "
                       "skipped"]
