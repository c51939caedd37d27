"""What every transport offers the runner, and the privilege logic they share.

Why the sudo logic lives here: whether a command needs `sudo -n`, `sudo -S` with a password on stdin, or
`runuser`, depends only on who we logged in as and what the command asks for, not on how bytes travel.
The password is asked once (through a callback the UI provides), kept in memory, fed on stdin, never logged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from wizard.engine.commands import Command, Masker, Secret, cmd, quote
from wizard.engine.console import Console
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _

OutputCallback = Callable[[str, str], None]  # (stream "stdout"|"stderr", line without newline)
PasswordCallback = Callable[[str], Awaitable[str | None]]  # prompt -> password, or None to give up
BACKUP_DIR = "/var/backups/deploy-wizard"
# Linux takes at most 128 KiB in one argument (MAX_ARG_STRLEN), and the login shell gets a command as one
# argument (`sh -c LINE`): over it the server refuses the command and the channel closes, which reads as a
# lost connection. Settings are kept far below it (wizard.engine.validators.MAX_FIELD); this says it plainly.
MAX_COMMAND = 120 * 1024


class SudoMode(StrEnum):
    """How the login user becomes root, as the connection probe found it."""

    NONE = "none"  # not probed yet
    NOPASSWD = "nopasswd"  # sudo -n works
    PASSWORD = "password"  # sudo asks a password (asked once, fed on stdin)
    MISSING = "missing"  # no sudo on the server: only root can work


class TransportError(DeployWizardError):
    """The target could not be reached or refused us; the message is for the operator."""


class CommandTimeout(TransportError):
    pass


class SecretRefused(TransportError):
    """A dry run (plan, check) was about to send a secret, or to write a file: refused before anything left.

    Why a rule in the transport: plans and checks may resolve secrets here and compare hashes with what the server
    reports (a SCRAM verifier, a file's sha256), but what they send only reads, so it never needs a secret."""


class CommandTooLong(TransportError):
    """A command line longer than a server takes in one command: bad input, said before anything is sent."""

    exit_code = ExitCode.BAD_INPUT


def check_length(line: str, command: Command) -> None:
    """CommandTooLong when `line` (the command as sent) is over MAX_COMMAND bytes."""
    size = len(line.encode("utf-8"))
    if size > MAX_COMMAND:
        raise CommandTooLong(_("the command '{start}...' is {kib} KiB long, more than a server takes in one "
                               "command ({limit} KiB); give fewer or shorter values in the recipe").format(
                                   start=command.summary()[:60], kib=size // 1024, limit=MAX_COMMAND // 1024))


class SudoError(TransportError):
    pass


@dataclass
class Result:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class Turns:
    """Gives the event loop back while a command's output is read, at least every SLICE seconds.

    Why: a reader returns the lines already received without waiting, so a command that prints fast (apt, a
    build, 100,000 lines of a log) kept the loop for as long as a whole buffer took to pass through the sinks
    (the screen, the journal): the wizard did not answer a key for a second or more. Taking turns keeps every
    wait of the screen's (a key, a repaint, a dialog opening) under one slice, and costs the stream one loop
    pass per slice.
    """

    SLICE = 0.004
    # then the reader rests this long: a key's answer is a chain of steps (the key read, the action, the repaint,
    # the frame written), each waiting for a pass of the loop; giving back a single pass per slice made every step
    # wait a whole slice behind the stream
    REST = 0.001

    def __init__(self) -> None:
        self.since = time.monotonic()

    async def take(self) -> None:
        """Call after each line: gives the loop a rest once the slice is used up."""
        if time.monotonic() - self.since >= self.SLICE:
            await asyncio.sleep(self.REST)
            self.since = time.monotonic()


class Transport(ABC):
    """One connection to one host. `round_trips` counts what was sent and waited for (one SSH channel each);
    `commands` what ran in them: a gather of facts is one round trip carrying one command per fact."""

    label: str = "target"

    def __init__(self, *, password_callback: PasswordCallback | None = None, masker: Masker | None = None,
                 command_timeout: float = 1800, password_attempts: int = 3) -> None:
        self.password_callback = password_callback
        self.password_attempts = password_attempts  # 1 when the password comes from the recipe: no point retrying
        self.masker = masker or Masker()
        self.command_timeout = command_timeout
        self.round_trips = 0
        self.commands = 0
        self.login_user = ""
        self.is_root = False
        self.sudo_mode = SudoMode.NONE
        self._sudo_password: Secret | None = None
        self.sealed = False  # a dry run: commands carrying a secret and uploads are refused (SecretRefused)

    # -- implemented by each transport ------------------------------------------------------------
    @abstractmethod
    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result: ...

    @abstractmethod
    async def _upload_temp(self, content: bytes) -> str:
        """Copy bytes to a fresh private temp file on the target (as the login user); return its path."""

    async def _open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def warnings(self) -> list[str]:
        """What the operator should know about this connection that did not stop it (a known_hosts file that could
        not be read, a line skipped in one): said once connected."""
        return []

    # -- shared ------------------------------------------------------------------------------------
    async def connect(self) -> None:
        await self._open()
        probe = ("id -un; id -u; if command -v sudo >/dev/null 2>&1; then "
                 "sudo -n true 2>/dev/null && echo nopasswd || echo password; else echo missing; fi")
        result = await self._exec(probe, None, None, 60)
        self.round_trips += 1
        self.commands += 1
        lines = result.stdout.split()
        if len(lines) < 3:
            raise TransportError(_("unexpected answer from {host}: {stdout} {stderr}").format(
                host=self.label, stdout=repr(result.stdout), stderr=repr(result.stderr)))
        self.login_user, uid, self.sudo_mode = lines[0], lines[1], SudoMode(lines[2])
        self.is_root = uid == "0"

    async def _ensure_sudo_password(self) -> Secret:
        if self._sudo_password is not None:
            return self._sudo_password
        if self.sudo_mode is SudoMode.MISSING:
            raise SudoError(_("{user}@{host} is not root and sudo is not installed; log in as root or install "
                              "sudo.").format(user=self.login_user, host=self.label))
        if self.password_callback is None:
            raise SudoError(_("sudo on {host} needs a password for {user}; none can be asked here (set "
                              "target.sudo_password in the recipe, e.g. env:SUDO_PASSWORD).").format(
                                  host=self.label, user=self.login_user))
        for attempt in range(self.password_attempts):
            prompt = (_("sudo password for {user}@{host} (try again)") if attempt
                      else _("sudo password for {user}@{host}")).format(user=self.login_user, host=self.label)
            password = await self.password_callback(prompt)
            if password is None:  # the operator cancelled: their choice, not a wrong password
                raise SudoError(_("The sudo password for {user} on {host} was not given (cancelled), so nothing that "
                                  "needs root ran. Retry to type it, or set the recipe's sudo password to env:NAME, "
                                  "file:/path or prompt.").format(user=self.login_user, host=self.label))
            check = await self._exec("sudo -S -p '' -k -v", password + "\n", None, 30)
            self.round_trips += 1
            self.commands += 1
            if check.ok:
                self._sudo_password = Secret("sudo password", password)
                self.masker.add(self._sudo_password)
                return self._sudo_password
        raise SudoError(_("sudo on {host} refused the password for {user}.").format(
            host=self.label, user=self.login_user))

    async def wrap(self, command: Command) -> tuple[str, str | None]:
        """The command line to send and the stdin to feed, with privileges arranged."""
        script = command.shell()
        stdin = command.stdin_text()
        target_user = command.user if command.user and command.user != self.login_user else None
        if target_user is None and (not command.root or self.is_root):
            return script, stdin
        if self.is_root:  # root switching to another user: runuser needs no sudo package
            return f"runuser -u {quote(target_user or 'root')} -- sh -c {quote(script)}", stdin
        as_user = f"-u {quote(target_user)} " if target_user else ""
        if self.sudo_mode is SudoMode.NOPASSWD:
            return f"sudo -n {as_user}-- sh -c {quote(script)}", stdin
        password = await self._ensure_sudo_password()
        return f"sudo -S -p '' {as_user}-- sh -c {quote(script)}", password.reveal() + "\n" + (stdin or "")

    async def run(self, command: Command, *, on_output: OutputCallback | None = None,
                  timeout: float | None = None, commands: int = 1) -> Result:
        """Run one command line; `commands`: how many questions or changes it carries (a gather of facts)."""
        if self.sealed and command.secrets():
            raise SecretRefused(_("a dry run never sends a secret, and this command carries one; nothing was sent to "
                                  "{host}: {command}").format(host=self.label, command=command.masked()))
        for secret in command.secrets():  # whatever the command carries must never echo back unmasked
            self.masker.add(secret)
        line, stdin = await self.wrap(command)
        check_length(line, command)
        self.round_trips += 1
        self.commands += commands
        masked_output = None
        if on_output is not None:
            def masked_output(stream: str, text: str) -> None:
                on_output(stream, self.masker(text))
        result = await self._exec(line, stdin, masked_output, timeout or self.command_timeout)
        return Result(result.exit_status, self.masker(result.stdout), self.masker(result.stderr))

    async def interact(self, command: Command, console: Console) -> int:
        """Run one command attached to this machine's terminal or pipes (`deploy-wizard run`); its exit status.

        Privileges are arranged by `wrap` as for every command (a sudo password goes ahead of the operator's
        input), and output is masked as for every command; there is no timeout: an interactive shell may last.
        """
        for secret in command.secrets():
            self.masker.add(secret)
        line, stdin = await self.wrap(command)
        check_length(line, command)
        if line != command.shell():  # one sudo or runuser command: the login shell execs it instead of waiting,
            line = "exec " + line  # so Ctrl-C on the server's terminal cannot kill a shell between us and it
        self.round_trips += 1
        self.commands += 1
        return await self._interact(line, (stdin or "").encode(), console)

    async def _interact(self, command_line: str, first: bytes, console: Console) -> int:
        """Start the command (with a terminal when `console.tty`) and relay it (wizard.engine.console.relay)."""
        raise TransportError(_("{host}: this connection cannot run interactive commands").format(host=self.label))

    async def put(self, content: bytes, path: str, *, mode: str = "0644", owner: str = "root",
                  group: str = "root", check: Command | None = None,
                  on_output: OutputCallback | None = None) -> Result:
        """Replace `path` atomically, keeping a backup of the old file under BACKUP_DIR.

        With `check` (nginx -t, sshd -t, systemd-analyze verify), the check runs once the new file is in
        place; when it fails, the previous file is put back (or the new one removed) and the result fails.
        """
        if self.sealed:
            raise SecretRefused(_("a dry run writes nothing; {path} was not uploaded to {host}").format(
                path=path, host=self.label))
        tmp = await self._upload_temp(content)
        backup = BACKUP_DIR + "/" + path.strip("/").replace("/", "%") + ".bak"
        staged = f"{path}.dw-{uuid.uuid4().hex[:8]}"
        # A constant script; every value arrives as a positional argument, so nothing needs escaping. As root
        # it never follows a path someone else controls: a symlink on the way is refused, and a directory a
        # user owns is written by that user (runuser), so a planted link cannot send root's write elsewhere.
        # What it says to the operator comes translated, as printf formats (${10} to ${12}; see _said).
        script = ('set -e; trap \'rm -f "$1" "$4"\' EXIT; mkdir -p -m 0700 "$5"; had=0; p=; '
                  'for part in $(printf %s "${2%/*}" | tr / " "); do p="$p/$part"; if [ -L "$p" ]; then '
                  'printf "deploy-wizard: ${10}\\n" "$p" >&2; exit 1; fi; done; '
                  'if [ -e "$2" ]; then cp -a "$2" "$3"; had=1; else mkdir -p "${2%/*}"; fi; '
                  'o=$(stat -c %U "${2%/*}"); if [ "$o" != root ]; then '
                  '  if [ "$o" != "$7" ]; then printf "deploy-wizard: ${11}\\n" "$o" >&2; exit 1; fi; '
                  '  runuser -u "$7" -- sh -c \'umask 077; cat > "$1" && chmod "$2" "$1" && mv -f "$1" "$3"\' '
                  'sh "$4" "$6" "$2" < "$1"; '
                  'else install -m "$6" -o "$7" -g "$8" "$1" "$4"; mv -f "$4" "$2"; fi; '
                  'if [ -n "$9" ] && ! sh -c "$9"; then '
                  '  if [ "$had" = 1 ]; then cp -a "$3" "$2"; else rm -f "$2"; fi; '
                  '  printf "deploy-wizard: ${12}\\n" >&2; exit 1; fi')
        parent = path.rpartition("/")[0]
        said = (_said(_("refusing to write {path}: {link} is a symbolic link"), path=path, link=None),
                _said(_("refusing to write {path} as root: {dir} belongs to {owner}"), path=path, dir=parent,
                      owner=None),
                _said(_("the check failed; the previous {path} was put back"), path=path))
        install = cmd("sh", "-c", script, "sh", tmp, path, backup, staged, BACKUP_DIR, mode, owner, group,
                      check.shell() if check else "", *said)
        return await self.run(install, on_output=on_output)

    async def probe_login(self, user: str | None = None) -> str | None:
        """Open a new, separate login (as `user`, default the same) and run `true`; None = it worked."""
        return None


def _said(message: str, **values: str | None) -> str:
    """A translated message as a printf format for a script on the server: the values known here filled in, the
    one only the server knows (None) left as %s, and every % and backslash of the rest taken literally."""
    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "%%")

    return literal(message).format(**{name: "%s" if value is None else literal(value)
                                      for name, value in values.items()})
