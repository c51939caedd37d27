"""The recipe's private key (`target.key`), loaded once per run, its passphrase asked at most once.

Why not leave it to asyncssh: given a key file protected by a passphrase and no passphrase, asyncssh raises
KeyImportError ("Passphrase must be specified") from inside connect(), which the operator saw as a traceback.
Here the key is read before connecting: an encrypted key asks its passphrase through the front end's callback
(the terminal, a modal), again after a wrong one, and the decrypted key is kept for every later connection of
the run (the fresh-login proofs of the firewall step, the other hosts of a fleet), so one run asks once. With
no way to ask (CI, --json), the error says so and what to do instead: ssh-agent, or a key without a passphrase.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import asyncssh

from wizard.engine.errors import ExitCode
from wizard.engine.fsutil import UnreadableFile, check_small_file
from wizard.engine.i18n import _, n_
from wizard.engine.transports.base import TransportError

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_KEY_FILE = 64 * 1024  # an OpenSSH RSA key of 16384 bits is under 13 KiB
PassphraseCallback = Callable[[str], Awaitable[str | None]]  # prompt -> passphrase, or None to give up


class PrivateKeyError(TransportError):
    """The private key file cannot be used as given: bad input, said before any connection."""

    exit_code = ExitCode.BAD_INPUT


class PrivateKeys:
    """Private keys read from files, decrypted once; share one instance between the connections of a run."""

    def __init__(self, ask: PassphraseCallback | None = None, attempts: int = 3) -> None:
        self.ask = ask
        self.attempts = attempts
        self._loaded: dict[str, Sequence[asyncssh.SSHKeyPair]] = {}
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    def _guard(self) -> asyncio.Lock:
        """One lock per event loop: hosts connecting at once wait for the first one's answer, not ask again."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    async def load(self, key: str) -> Sequence[asyncssh.SSHKeyPair]:
        """The key pairs of the file `key` (with its -cert.pub certificate, if any), for asyncssh's client_keys."""
        path = os.path.expanduser(key)
        async with self._guard():
            if path not in self._loaded:
                self._loaded[path] = await self._read(path)
            return self._loaded[path]

    async def _read(self, path: str) -> Sequence[asyncssh.SSHKeyPair]:
        try:  # asyncssh reads the file whole: /dev/zero or a FIFO would never return
            check_small_file(path, MAX_KEY_FILE)
        except UnreadableFile as exc:
            raise PrivateKeyError(_("cannot read the private key {path} (target.key): {why}").format(
                path=path, why=exc)) from None
        try:
            return asyncssh.load_keypairs([path])
        except (OSError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            return await self._encrypted(path, exc)

    async def _encrypted(self, path: str, exc: Exception) -> Sequence[asyncssh.SSHKeyPair]:
        """Decrypt the key when the error says it needs a passphrase; any other error is the operator's to fix."""
        if isinstance(exc, OSError):
            raise PrivateKeyError(_("cannot read the private key {path} (target.key): {why}").format(
                path=path, why=exc.strerror or exc)) from None
        if "Passphrase must be specified" not in str(exc):
            raise PrivateKeyError(_("{path} (target.key) is not a private key that can be used: {why}").format(
                path=path, why=exc)) from None
        return await self._decrypt(path)

    async def _decrypt(self, path: str) -> Sequence[asyncssh.SSHKeyPair]:
        if self.ask is None:
            raise PrivateKeyError(_(
                "the private key {path} (target.key) is protected by a passphrase, and there is no terminal to "
                "ask for it. Load it into ssh-agent (`ssh-add {path}`) and leave target.key empty, or give the "
                "server a deploy key without a passphrase.").format(path=path))
        for attempt in range(self.attempts):
            prompt = (_("passphrase for {path} (try again)") if attempt else _("passphrase for {path}")).format(
                path=path)
            passphrase = await self.ask(prompt)
            if passphrase is None:
                raise PrivateKeyError(_("no passphrase given for the private key {path}").format(path=path))
            try:
                # off the event loop: the key derivation of an OpenSSH key takes a noticeable moment
                return await asyncio.to_thread(asyncssh.load_keypairs, [path], passphrase)
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
                if "bcrypt" in str(exc):  # no bcrypt for an OpenSSH key: asking again would not help
                    raise PrivateKeyError(_("cannot decrypt the private key {path}: {why}").format(
                        path=path, why=exc)) from None
        raise PrivateKeyError(n_("wrong passphrase for the private key {path} ({n} try)",
                                 "wrong passphrase for the private key {path} ({n} tries)", self.attempts).format(
            path=path, n=self.attempts))


__all__ = ["PassphraseCallback", "PrivateKeyError", "PrivateKeys"]
