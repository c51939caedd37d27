"""The asyncssh transport against an in-process SSH server that runs commands in a real local shell.

`id` and `sudo` on the server's PATH are small test doubles so the login looks like a non-root user and
sudo's password protocol (`-n` refused, `-S` reads one line of stdin) can be exercised without a real
account; the real sudo is exercised live against the sandbox (tests/live).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import asyncssh
import pytest

from wizard.engine.commands import Secret, cmd
from wizard.engine.hostkeys import HostKeyChanged, HostKeyStore, HostKeyUnknown, fingerprint_of
from wizard.engine.transports.base import CommandTimeout, SudoError, TransportError
from wizard.engine.transports.ssh import SSHTarget, SSHTransport

FAKE_ID = """#!/bin/sh
case "$1" in -un) echo alice;; -u) echo 1000;; *) exec /usr/bin/id "$@";; esac
"""
FAKE_SUDO = r"""#!/bin/sh
echo "$*" >> "$FAKE_SUDO_LOG"
mode=""; validate=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) mode=n; shift;; -S) mode=S; shift;; -p) shift 2;; -k) shift;; -v) validate=1; shift;;
    -u) shift 2;; --) shift; break;; *) break;;
  esac
done
if [ "$mode" = n ] && [ "$FAKE_SUDO_NOPASSWD" != 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
if [ "$mode" = S ]; then
  IFS= read -r pw
  [ "$pw" = "$FAKE_SUDO_PASSWORD" ] || { echo "Sorry, try again." >&2; exit 1; }
fi
[ -n "$validate" ] && exit 0
exec "$@"
"""


class Server:
    def __init__(self, tmp: Path, nopasswd: bool) -> None:
        self.tmp = tmp
        self.bin = tmp / "fakebin"
        self.bin.mkdir()
        for name, text in (("id", FAKE_ID), ("sudo", FAKE_SUDO)):
            path = self.bin / name
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IEXEC)
        self.sudo_log = tmp / "sudo.log"
        self.env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_SUDO_LOG": str(self.sudo_log),
                    "FAKE_SUDO_NOPASSWD": "1" if nopasswd else "0", "FAKE_SUDO_PASSWORD": "pw-12345"}
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = tmp / "client_key"
        self.client_key.write_private_key(str(self.client_key_path))
        self.server: asyncssh.SSHAcceptor | None = None
        self.port = 0

    @property
    def host_key_line(self) -> str:
        return self.host_key.export_public_key("openssh").decode().strip()

    async def handle(self, process: asyncssh.SSHServerProcess) -> None:
        process.exit(await self.piped(process, process.command))

    async def piped(self, process: asyncssh.SSHServerProcess, command: str) -> int:
        """Run the command in a local shell; copy streams by hand so no output is lost at exit."""
        local = await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env)

        async def feed() -> None:
            try:
                while data := await process.stdin.read(65536):
                    local.stdin.write(data)
                    await local.stdin.drain()
            except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
                pass
            local.stdin.close()

        async def copy(source: asyncio.StreamReader, sink) -> None:
            while data := await source.read(65536):
                sink.write(data)

        feeder = asyncio.ensure_future(feed())
        await asyncio.gather(copy(local.stdout, process.stdout), copy(local.stderr, process.stderr))
        status = await local.wait()
        feeder.cancel()
        return status

    async def start(self) -> None:
        self.server = await asyncssh.create_server(
            asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.client_key.export_public_key("openssh").decode()),
            process_factory=self.handle, sftp_factory=True, encoding=None)
        self.port = self.server.sockets[0].getsockname()[1]

    def transport(self, store: HostKeyStore, **kw) -> SSHTransport:
        pinned = kw.pop("host_key", None)
        target = SSHTarget("127.0.0.1", port=self.port, user="alice", key=str(self.client_key_path),
                           host_key=pinned, connect_timeout=5)
        return SSHTransport(target, store=store, **kw)


@pytest.fixture
async def server(tmp_path):
    srv = Server(tmp_path, nopasswd=True)
    await srv.start()
    yield srv
    srv.server.close()


@pytest.fixture
def trusted(server, tmp_path) -> HostKeyStore:
    store = HostKeyStore(tmp_path / "known_hosts", openssh_files=[])
    store.add("127.0.0.1", server.port, server.host_key_line)
    return store


async def test_output_streams_line_by_line_with_exit_status(server, trusted) -> None:
    transport = server.transport(trusted)
    await transport.connect()
    assert (transport.login_user, transport.is_root, transport.sudo_mode) == ("alice", False, "nopasswd")
    seen: list[tuple[float, str, str]] = []
    result = await transport.run(cmd("sh", "-c", "echo first; sleep 0.6; echo second >&2; exit 3", root=False),
                                 on_output=lambda stream, line: seen.append((time.monotonic(), stream, line)))
    done = time.monotonic()
    assert result.exit_status == 3 and not result.ok
    assert [(s, line) for _, s, line in seen] == [("stdout", "first"), ("stderr", "second")]
    assert done - seen[0][0] >= 0.5  # the first line arrived while the command was still running
    await transport.close()


async def test_every_line_reaches_a_slow_reader_however_fast_the_command_ends(server, trusted) -> None:
    """The readers rest between slices (Turns) while a quick command has already exited: the lines still waiting
    must reach on_output and the result, not be taken by asyncssh's own wait() (communicate reads the same
    streams; a `logs --grep` came back empty that way)."""
    transport = server.transport(trusted)
    await transport.connect()
    seen: list[str] = []

    def slow(stream: str, line: str) -> None:
        seen.append(line)
        time.sleep(0.0002)  # a reader that uses up its slice: the transport rests, the command is long gone

    result = await transport.run(cmd("sh", "-c", "seq 1 20000; echo last", root=False), on_output=slow)
    assert result.ok
    assert len(seen) == 20001 and seen[-1] == "last"
    assert result.stdout.splitlines()[-1] == "last" and len(result.stdout.splitlines()) == 20001
    await transport.close()


async def test_aes_gcm_is_chosen_where_the_server_offers_it_and_chacha_still_works(server, trusted) -> None:
    """The transport asks AES-GCM first (cheaper per packet in asyncssh; see ssh._GCM_FIRST), and a server that
    offers only chacha20-poly1305 is still reached."""
    transport = server.transport(trusted)
    await transport.connect()
    assert transport.conn.get_extra_info("send_cipher").endswith("-gcm@openssh.com")
    assert (await transport.run(cmd("echo", "ok", root=False))).stdout == "ok"
    await transport.close()
    server.server.close()
    server.server = await asyncssh.listen(
        "127.0.0.1", server.port, server_host_keys=[server.host_key], encryption_algs=["chacha20-poly1305@openssh.com"],
        authorized_client_keys=asyncssh.import_authorized_keys(server.client_key.export_public_key("openssh").decode()),
        process_factory=server.handle, encoding=None)
    transport = server.transport(trusted)
    await transport.connect()
    assert transport.conn.get_extra_info("send_cipher") == "chacha20-poly1305@openssh.com"
    assert (await transport.run(cmd("echo", "ok", root=False))).stdout == "ok"
    await transport.close()


async def test_root_commands_go_through_sudo_n(server, trusted) -> None:
    transport = server.transport(trusted)
    await transport.connect()
    result = await transport.run(cmd("echo", "as root"))
    assert result.stdout == "as root"
    assert "-n -- sh -c" in server.sudo_log.read_text()
    await transport.close()


async def test_command_timeout(server, trusted) -> None:
    transport = server.transport(trusted)
    await transport.connect()
    with pytest.raises(CommandTimeout):  # the sleep would end without one
        await transport.run(cmd("sleep", "10", root=False), timeout=0.5)
    assert (await transport.run(cmd("echo", "still usable", root=False))).stdout == "still usable"
    await transport.close()


async def test_upload_over_sftp_with_mode_and_backup(server, trusted, tmp_path) -> None:
    transport = server.transport(trusted)
    await transport.connect()
    dest = tmp_path / "conf" / "app.conf"
    dest.parent.mkdir()
    dest.write_text("old\n")
    result = await transport.put(b"new content\n", str(dest), mode="0600")
    assert result.ok, result.stderr
    assert dest.read_bytes() == b"new content\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert list(dest.parent.iterdir()) == [dest]  # no staging leftovers
    backup = Path("/var/backups/deploy-wizard") / (str(dest).strip("/").replace("/", "%") + ".bak")
    assert backup.read_text() == "old\n"
    await transport.close()


async def test_sudo_password_is_asked_once_fed_on_stdin_and_never_logged(tmp_path) -> None:
    srv = Server(tmp_path, nopasswd=False)
    await srv.start()
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    store.add("127.0.0.1", srv.port, srv.host_key_line)
    answers = ["wrong", "pw-12345"]
    asked: list[str] = []

    async def ask(prompt: str) -> str | None:
        asked.append(prompt)
        return answers.pop(0)

    transport = srv.transport(store, password_callback=ask)
    await transport.connect()
    assert transport.sudo_mode == "password"
    result = await transport.run(cmd("cat", stdin="payload after the password\n"))
    assert result.stdout == "payload after the password"
    assert len(asked) == 2 and "try again" in asked[1]
    assert "pw-12345" not in srv.sudo_log.read_text()  # never on a command line
    again = await transport.run(cmd("echo", "pw-12345 shows masked"))
    assert again.stdout == "*** shows masked"
    assert len(asked) == 2  # asked once per connection, not per command
    await transport.close()
    srv.server.close()


async def test_sudo_password_needed_without_a_way_to_ask_is_a_clear_error(tmp_path) -> None:
    srv = Server(tmp_path, nopasswd=False)
    await srv.start()
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    store.add("127.0.0.1", srv.port, srv.host_key_line)
    transport = srv.transport(store)
    await transport.connect()
    with pytest.raises(SudoError, match="sudo_password"):
        await transport.run(cmd("true"))
    await transport.close()
    srv.server.close()


async def test_changed_host_key_is_a_hard_stop(server, tmp_path) -> None:
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    store.add("127.0.0.1", server.port, other)
    asked = []

    async def trust(*args) -> bool:
        asked.append(args)
        return True

    with pytest.raises(HostKeyChanged, match="CHANGED"):
        await server.transport(store, trust_callback=trust).connect()
    assert asked == []  # a changed key is never offered for trust


async def test_pinned_fingerprint(server, tmp_path) -> None:
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    good = fingerprint_of(server.host_key_line)
    transport = server.transport(store, host_key=good)
    await transport.connect()
    await transport.close()
    bad = "SHA256:" + "A" * 43
    with pytest.raises(HostKeyChanged, match="pins"):
        await server.transport(store, host_key=bad).connect()


async def test_unknown_host_trust_on_first_use(server, tmp_path) -> None:
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    offered: list[tuple[str, int, str]] = []

    async def refuse(host: str, port: int, fp: str) -> bool:
        offered.append((host, port, fp))
        return False

    with pytest.raises(HostKeyUnknown, match=fingerprint_of(server.host_key_line).replace("+", r"\+")):
        await server.transport(store, trust_callback=refuse).connect()
    assert offered == [("127.0.0.1", server.port, fingerprint_of(server.host_key_line))]
    assert not store.path.exists()

    async def accept(host: str, port: int, fp: str) -> bool:
        offered.append((host, port, fp))
        return True

    transport = server.transport(store, trust_callback=accept)
    await transport.connect()
    await transport.close()
    assert f"[127.0.0.1]:{server.port} ssh-ed25519" in store.path.read_text()
    transport = server.transport(store, trust_callback=accept)
    await transport.connect()  # now known: no question
    await transport.close()
    assert len(offered) == 2


async def test_unknown_host_without_a_way_to_ask_fails_with_the_fingerprint(server, tmp_path) -> None:
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    with pytest.raises(HostKeyUnknown, match="not a known host; its key is SHA256:"):
        await server.transport(store).connect()


async def test_a_host_given_by_name_is_matched_in_openssh_known_hosts(server, tmp_path) -> None:
    # `apply --host localhost` with a ~/.ssh/known_hosts present crashed (ValueError from asyncssh's matching)
    known = tmp_path / "openssh_known_hosts"
    known.write_text(f"[localhost]:{server.port} {server.host_key_line}\n")
    store = HostKeyStore(tmp_path / "kh", openssh_files=[known])
    target = SSHTarget("localhost", port=server.port, user="alice", key=str(server.client_key_path), connect_timeout=5)
    transport = SSHTransport(target, store=store)
    await transport.connect()  # known by name: no trust callback needed
    assert (await transport.run(cmd("echo", "hi", root=False))).stdout == "hi"
    await transport.close()
    assert not store.path.exists()


async def test_wrong_key_login_is_refused_clearly(server, trusted, tmp_path) -> None:
    other = tmp_path / "other_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(other))
    transport = server.transport(trusted)
    transport.target.key = str(other)
    with pytest.raises(TransportError, match="refused"):
        await transport.connect()


async def test_closed_port_is_a_clear_error(tmp_path) -> None:
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    transport = SSHTransport(SSHTarget("127.0.0.1", port=1, user="x", connect_timeout=2), store=store)
    with pytest.raises(TransportError, match="cannot connect to 127.0.0.1:1"):
        await transport.connect()


async def test_secret_in_command_is_masked_in_streamed_output(server, trusted) -> None:
    transport = server.transport(trusted)
    await transport.connect()
    lines: list[str] = []
    result = await transport.run(cmd("echo", Secret("tok", "abc-secret-42"), root=False),
                                 on_output=lambda s, line: lines.append(line))
    assert lines == ["***"] and result.stdout == "***"
    await transport.close()
