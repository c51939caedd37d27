"""Turn secret references from the recipe into values, only in memory and only at run time.

Why references: the recipe file is meant to be shared, reviewed and committed. `env:NAME` suits CI,
`file:/path` suits a secrets manager that writes files, `prompt` suits a person at a terminal. With no
terminal (`--yes` in CI) a prompt is an error that names the secret, never a silent hang.

Why the operator is told what was read (`on_read`): a run that quietly reads $DB_PASSWORD or a file is a
surprise in a shared shell or a CI log; the notice names the variable or the file, never the value. A value is
read only when a step's plan asks for it (Context.secret), so a plan reads only the secrets it needs.

Why `file:` is fenced in: a reference is a path from a file that travels between people, so it must not turn
into a read of a device (`/dev/zero` never ends, a FIFO blocks forever), of /proc or /sys (another process's
environment, kernel state), of a huge file, or of bytes that are not text. Each is refused with what to do.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from wizard.engine.commands import Masker, Secret
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _, n_

Prompt = Callable[[str], str | None]
OnRead = Callable[[str, str], None]  # (label, what was read, e.g. "environment variable DB_PASSWORD") -> None
MAX_FILE = 64 * 1024  # a password, a token, a key: far less than this
# Every secret is hidden wherever it appears in what the server prints (commands.Masker), before anything reads
# that output, facts included. A value this short also appears in ordinary output: the password "x" hid every x
# in the host name the os_updates step reads back, which then never matched and the step never converged; "admin"
# would hide every /home/admin. So a shorter value is refused, with what to do.
MIN_LENGTH = 8
_FORBIDDEN_TREES = ("/proc", "/sys")


class SecretError(DeployWizardError):
    """A secret reference that cannot be resolved: bad input, and the message names the setting."""

    exit_code = ExitCode.BAD_INPUT
    bare = True


def _forbidden_tree(path: Path) -> str | None:
    """/proc or /sys when the path, as written or with its symlinks followed, lies in one of them."""
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        for top in _FORBIDDEN_TREES:
            if candidate == top or candidate.startswith(top + "/"):
                return top
    return None


def _kind_problem(mode: int) -> str | None:
    """Why a file of this type cannot hold a secret; None for a regular file."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("it is a device file, not a regular file")
    if stat.S_ISDIR(mode):
        return _("it is a directory, not a regular file")
    if not stat.S_ISREG(mode):
        return _("it is not a regular file (a pipe or a socket)")
    return None


def read_secret_file(path: Path, label: str) -> str:
    """The text of a secret file, without its final line breaks; SecretError for anything but a small UTF-8
    regular file outside /proc and /sys."""
    def refuse(why: str) -> SecretError:
        return SecretError(_("{label}: cannot use {path} as a secret: {why}").format(label=label, path=path, why=why))

    top = _forbidden_tree(path)
    if top:
        raise refuse(_("files under {top} are not secrets (they describe processes and the kernel)").format(top=top))
    try:
        problem = _kind_problem(os.stat(path).st_mode)  # before opening: opening a FIFO for reading would block
        if problem:
            raise refuse(problem)
        # O_NONBLOCK: should the file have been swapped for a FIFO since, opening still returns at once
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise SecretError(_("{label}: cannot read {path}: {why}").format(
            label=label, path=path, why=exc.strerror)) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        problem = _kind_problem(info.st_mode)
        if problem:
            raise refuse(problem)
        data = handle.read(MAX_FILE + 1)
    if info.st_size > MAX_FILE or len(data) > MAX_FILE:
        raise refuse(_("it is larger than {kib} KiB; a secret file holds just the secret").format(kib=MAX_FILE // 1024))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(_("it is not UTF-8 text (byte {n}); a secret file holds the secret as text").format(
            n=exc.start)) from None
    return text.rstrip("\n")


class SecretResolver:
    def __init__(self, prompt: Prompt | None = None, environ: dict[str, str] | None = None,
                 masker: Masker | None = None, on_read: OnRead | None = None) -> None:
        self.prompt = prompt
        self.environ = os.environ if environ is None else environ
        self.masker = masker or Masker()
        self.on_read = on_read  # told what each reference read (a variable's name, a file's path), never the value
        self._resolved: dict[tuple[str, str], Secret] = {}

    def resolve(self, ref: str, label: str) -> Secret:
        # One value per reference (two settings reading env:DB_PASSWORD share it), but `prompt` is a question
        # per setting: the sudo password is not the database password because both say `prompt`.
        key = (ref, label if ref == "prompt" else "")
        if key in self._resolved:
            return self._resolved[key]
        value, source = self._read(ref, label)
        where = _("{label} (read from {source})").format(label=label, source=source)  # which variable or file to fix
        if not value:
            raise SecretError(_("{label}: the secret is empty").format(label=where))
        if len(value) < MIN_LENGTH:
            raise SecretError(n_(
                "{label}: the secret has {n} character; use at least {min}. deploy-wizard hides every secret "
                "wherever it appears in what the server prints, and a value this short can also appear in ordinary "
                "output (host names, paths), which would be hidden too and misread",
                "{label}: the secret has {n} characters; use at least {min}. deploy-wizard hides every secret "
                "wherever it appears in what the server prints, and a value this short can also appear in ordinary "
                "output (host names, paths), which would be hidden too and misread",
                len(value)).format(label=where, n=len(value), min=MIN_LENGTH))
        secret = Secret(label, value, ref=ref)
        self.masker.add(secret)
        self._resolved[key] = secret
        if self.on_read is not None:
            self.on_read(label, source)
        return secret

    def _read(self, ref: str, label: str) -> tuple[str, str]:
        """(the value, what was read for the operator's notice)."""
        if ref.startswith("env:"):
            name = ref[4:]
            value = self.environ.get(name)
            if value is None:
                missing = _("{label}: environment variable {name} is not set: give it to the command ({name}=... "
                            "deploy-wizard ...), or set the setting to file:/path or prompt")
                raise SecretError(missing.format(label=label, name=name))
            return value, _("the environment variable {name}").format(name=name)
        if ref.startswith("file:"):
            path = Path(os.path.expanduser(ref[5:]))
            return read_secret_file(path, label), _("the file {path}").format(path=path)
        if ref == "prompt":
            if self.prompt is None:
                raise SecretError(_("{label} is set to 'prompt' but there is no terminal to ask on; "
                                    "use env:NAME or file:/path for unattended runs").format(label=label))
            value = self.prompt(label)
            if value is None:
                raise SecretError(_("{label}: no value given").format(label=label))
            return value, _("the answer to the prompt")
        raise SecretError(_("{label}: '{ref}' is not a secret reference").format(label=label, ref=ref))


def read_notice(label: str, source: str) -> str:
    """The line that tells the operator where a secret came from (never what it is)."""
    return _("secret {label}: read from {source}").format(label=label, source=source)
