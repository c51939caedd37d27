"""The SSH transport: one asyncssh connection per host, a channel per command, SFTP for file content.

Host keys are never ignored. A key the recipe pins must match; a key in ~/.ssh/known_hosts or our own store
is trusted; a host known with other keys is a hard stop; a host never seen goes to the trust-on-first-use
callback with the SHA256 fingerprint, and only a yes from there records it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import asyncssh
from asyncssh.encryption import get_default_encryption_algs
from asyncssh.public_key import get_default_certificate_algs, get_default_public_key_algs

from wizard.engine.console import CHUNK, Console, Remote, relay
from wizard.engine.hostkeys import (
    HostKeyChanged,
    HostKeyRevoked,
    HostKeyStore,
    HostKeyUnknown,
    KnownKey,
    host_pattern,
)
from wizard.engine.i18n import _
from wizard.engine.transports.base import CommandTimeout, OutputCallback, Result, Transport, TransportError, Turns
from wizard.engine.transports.keys import PrivateKeys
from wizard.engine.transports.reasons import plain_reason

_ED25519_FIRST = ["ssh-ed25519"] + [
    alg.decode() for alg in (*get_default_certificate_algs(), *get_default_public_key_algs()) if alg != b"ssh-ed25519"
]
# AES-GCM before chacha20-poly1305 (asyncssh's first choice; every other cipher keeps its place): an AEAD as strong,
# untouched by the Terrapin prefix truncation, offered by every OpenSSH since 6.2, and much cheaper here: asyncssh
# seals a packet with one AES-GCM call, but builds ChaCha20 contexts four times a packet (3 against 21 us here),
# the largest per-host cost in the profile of a fleet's no-op (bench/fleet.py --profile).
_GCM_FIRST = sorted((alg.decode() for alg in get_default_encryption_algs()), key=lambda alg: "-gcm@" not in alg)
TrustCallback = Callable[[str, int, str], Awaitable[bool]]  # host, port, fingerprint -> trust?


@dataclass
class SSHTarget:
    host: str
    port: int = 22
    user: str | None = None
    key: str | None = None  # a private key file; None = ssh-agent and ~/.ssh defaults
    host_key: str | None = None  # pinned "SHA256:..." fingerprint
    connect_timeout: float = 15
    # where the operator keeps this host's pin, in their words (the field's label, the inventory...), for the
    # messages that ask to pin or update it; empty: the recipe's host key pin
    pin_place: str = ""


class _Client(asyncssh.SSHClient):
    """Remembers the key the server presented, so the caller can tell 'unknown' from 'changed'."""

    def __init__(self, pinned: str | None) -> None:
        self.pinned = pinned
        self.presented: str | None = None
        self.fingerprint = ""  # of the presented key, "SHA256:..."
        self.addr = ""  # the address connected to, as the known-hosts lookup got it
        self.revoked: dict[str, KnownKey] = {}  # fingerprint -> the @revoked line, for this host
        self.hit: KnownKey | None = None  # the presented key is revoked: where it says so

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = key.export_public_key("openssh").decode().strip()
        self.fingerprint = key.get_fingerprint("sha256")
        self.hit = self.revoked.get(self.fingerprint)
        return self.hit is None and bool(self.pinned) and self.fingerprint == self.pinned


class SSHTransport(Transport):
    def __init__(self, target: SSHTarget, *, trust_callback: TrustCallback | None = None,
                 store: HostKeyStore | None = None, keys: PrivateKeys | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.target = target
        self.label = target.host
        self.trust_callback = trust_callback
        self.store = store or HostKeyStore()
        self.keys = keys or PrivateKeys()  # target.key, decrypted once and shared with the probe logins
        self.conn: asyncssh.SSHClientConnection | None = None

    def _known_hosts(self, client: _Client) -> Callable[[str, str, int], tuple[list[object], ...]]:
        """What asyncssh trusts for the host it connected to. A revoked key is never among them: it reaches
        the client's check, which refuses it and remembers where it is revoked."""

        def lookup(host: str, addr: str, port: int) -> tuple[list[object], ...]:
            client.addr = addr
            client.revoked = {r.fingerprint: r for r in self.store.known(host, addr, port) if r.revoked}
            if self.target.host_key:  # a pin overrides the files: only that fingerprint is accepted
                return [], [], []
            return self.store.trusted_keys(host, addr, port), [], []

        return lookup

    def warnings(self) -> list[str]:
        return list(self.store.problems)

    async def _attempt(self) -> tuple[asyncssh.SSHClientConnection | None, _Client]:
        client = _Client(self.target.host_key)
        options: dict[str, object] = {
            "port": self.target.port,
            "known_hosts": self._known_hosts(client),
            "client_factory": lambda: client,
            "connect_timeout": self.target.connect_timeout,
            "keepalive_interval": 30,
            "encryption_algs": _GCM_FIRST,
        }
        if self.target.host_key or not self.store.trusted_keys(self.target.host, self.target.host, self.target.port):
            # Nothing on record to match: ask for the ed25519 key first, the one operators are told to compare
            # (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) and pin. With keys on record, asyncssh
            # asks for exactly their types, so a host known by its RSA key is not mistaken for a changed one.
            options["server_host_key_algs"] = _ED25519_FIRST
        if self.target.user:
            options["username"] = self.target.user
        if self.target.key:
            options["client_keys"] = await self.keys.load(self.target.key)
        try:
            return await asyncssh.connect(self.target.host, **options), client
        except asyncssh.HostKeyNotVerifiable:
            if client.presented is None:
                raise
            return None, client

    async def _open(self) -> None:
        host, port = self.target.host, self.target.port
        try:
            conn, client = await self._attempt()
            if conn is None:
                fingerprint = client.fingerprint
                place = self.target.pin_place or _("the recipe's host key pin")
                if client.hit is not None:
                    raise HostKeyRevoked(_(
                        "{host} presented host key {fingerprint}, which {file} (line {line}) marks @revoked. Stopped: "
                        "a revoked key is never trusted, pinned or not. Ask whoever runs the server why it still "
                        "uses that key.").format(host=host_pattern(host, port), fingerprint=fingerprint,
                                                 file=client.hit.file, line=client.hit.line))
                if self.target.host_key:
                    raise HostKeyChanged(_(
                        "{host} presented host key {fingerprint}, but the recipe pins {pinned}. Stopped: this may "
                        "be a different server or an attack. If the server was really reinstalled, check the new key "
                        "on the server and update {place}.").format(
                            host=host_pattern(host, port), fingerprint=fingerprint, pinned=self.target.host_key,
                            place=place))
                on_record = [r for r in self.store.known(host, client.addr or host, port) if not r.revoked]
                if on_record:
                    raise HostKeyChanged(_changed(host_pattern(host, port), fingerprint, on_record))
                if self.trust_callback is None or not await self.trust_callback(host, port, fingerprint):
                    raise HostKeyUnknown(_(
                        "{host} is not a known host; its key is {fingerprint}. Check it on the server "
                        "(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then confirm it when asked, or pin "
                        "it in {place}.").format(host=host_pattern(host, port), fingerprint=fingerprint,
                                                 place=place))
                self.store.add(host, port, client.presented or "")
                conn, client = await self._attempt()
                if conn is None:
                    raise TransportError(_("{host} changed its host key during the connection; stopped.").format(
                        host=host))
        except (HostKeyChanged, HostKeyRevoked, HostKeyUnknown, TransportError):
            raise
        except asyncssh.PermissionDenied as exc:
            raise TransportError(_(
                "SSH login to {user}@{host}:{port} was refused ({reason}). Check the user name and that your key "
                "is in the server's authorized_keys.").format(
                    user=self.target.user or _("the default user"), host=host, port=port, reason=exc.reason)) from None
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            raise TransportError(_("cannot connect to {host}:{port}: {reason}").format(
                host=host, port=port, reason=plain_reason(exc))) from None
        self.conn = conn

    async def probe_login(self, user: str | None = None) -> str | None:
        from dataclasses import replace

        target = replace(self.target, user=user or self.target.user or self.login_user)
        probe = SSHTransport(target, store=self.store, keys=self.keys)
        try:
            await probe._open()
            result = await probe._exec("true", None, None, 30)
            return None if result.ok else _("exit status {code}").format(code=result.exit_status)
        except Exception as exc:  # noqa: BLE001 - any failure to log in is the answer we report
            return str(exc) or type(exc).__name__
        finally:
            await probe.close()

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        assert self.conn is not None, "connect() first"
        try:
            process = await self.conn.create_process(command_line, encoding="utf-8", errors="replace")
        except (asyncssh.Error, OSError) as exc:
            raise TransportError(_("lost the connection to {host}: {why}").format(
                host=self.label, why=plain_reason(exc))) from None
        if stdin:
            process.stdin.write(stdin)
        process.stdin.write_eof()
        collected: dict[str, list[str]] = {"stdout": [], "stderr": []}

        turns = Turns()

        async def pump(stream: asyncssh.SSHReader[str], name: str) -> None:
            async for line in stream:
                if not line:  # EOF marker; a real empty line is "\n"
                    continue
                text = line.rstrip("\n")
                collected[name].append(text)
                if on_output is not None:
                    on_output(name, text)
                    await turns.take()

        async def finish() -> None:
            # Both streams to their end, then the channel's close (which carries the exit status). Not
            # process.wait(): asyncssh's wait() runs communicate(), which reads the same streams, so the last
            # lines could go to it instead of to on_output and the result (a `logs` run came back empty).
            await asyncio.gather(pump(process.stdout, "stdout"), pump(process.stderr, "stderr"))
            await process.wait_closed()

        try:
            await asyncio.wait_for(finish(), timeout)
        except TimeoutError:
            process.close()
            raise CommandTimeout(_("command timed out after {seconds:.0f} s on {host}").format(
                seconds=timeout, host=self.label)) from None
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as exc:
            raise TransportError(_("lost the connection to {host}: {why}").format(
                host=self.label, why=plain_reason(exc))) from None
        status = process.exit_status
        if status is None:  # killed by a signal, or the channel closed under us
            status = 255
        return Result(status, "\n".join(collected["stdout"]), "\n".join(collected["stderr"]))

    async def _interact(self, command_line: str, first: bytes, console: Console) -> int:
        assert self.conn is not None, "connect() first"
        terminal: dict[str, object] = {}
        if console.tty:  # what `ssh -t` asks for: the server's own terminal, of this window's type and size
            terminal = {"term_type": console.term_type, "term_size": console.size()}
        try:
            process = await self.conn.create_process(command_line, encoding=None, **terminal)
        except (asyncssh.Error, OSError) as exc:
            raise TransportError(_("lost the connection to {host}: {why}").format(
                host=self.label, why=plain_reason(exc))) from None
        try:
            return await relay(console, _remote(process), self.masker, first)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as exc:
            raise TransportError(_("lost the connection to {host}: {why}").format(
                host=self.label, why=plain_reason(exc))) from None
        finally:
            process.close()

    async def _upload_temp(self, content: bytes) -> str:
        assert self.conn is not None, "connect() first"
        path = f"/tmp/.deploy-wizard-{uuid.uuid4().hex}"
        async with self.conn.start_sftp_client() as sftp:
            async with sftp.open(path, "wb", asyncssh.SFTPAttrs(permissions=0o600)) as handle:
                await handle.write(content)
        return path

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            await self.conn.wait_closed()
            self.conn = None



def _changed(host: str, fingerprint: str, on_record: list[KnownKey]) -> str:
    """The stop for a host known with other keys: each key on record and the file and line holding it, and the
    commands that really remove them (per file, with the host as the file names it: `[host]:port` off port 22)."""
    keys = "\n".join(f"  {r.fingerprint}  {r.file}:{r.line}" for r in on_record)
    commands = "\n".join(f"  {command}" for command in dict.fromkeys(r.removal() for r in on_record))
    return _("HOST KEY CHANGED for {host}: it now presents {fingerprint}, but the key on record is:\n{keys}\n"
             "Stopped: this may be a different server or an attack. If the server was really reinstalled, check "
             "its new key on the server (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), remove the old one:"
             "\n{commands}\nand connect again.").format(host=host, fingerprint=fingerprint, keys=keys,
                                                          commands=commands)


def _remote(process: asyncssh.SSHClientProcess[bytes]) -> Remote:
    """An SSH channel as the console relay drives it."""

    async def send(data: bytes) -> None:
        with suppress(asyncssh.Error, OSError, BrokenPipeError):
            process.stdin.write(data)
            await process.stdin.drain()

    async def send_eof() -> None:
        with suppress(asyncssh.Error, OSError):
            process.stdin.write_eof()

    async def wait() -> int:
        await process.wait_closed()
        code = process.returncode
        if code is None:  # the channel closed without a status
            return 255
        return 128 - code if code < 0 else min(code, 255)  # killed by signal N: 128+N, as a shell says it

    def resize(columns: int, rows: int) -> None:
        with suppress(asyncssh.Error, OSError):
            process.change_terminal_size(columns, rows)

    return Remote(send=send, send_eof=send_eof, wait=wait, resize=resize,
                  outputs={"stdout": lambda: process.stdout.read(CHUNK), "stderr": lambda: process.stderr.read(CHUNK)})
