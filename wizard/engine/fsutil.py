"""Local files: writes that never leave a half-written file behind (a crash keeps the old one), and reads of the
operator's text files that never hang or swallow memory."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from platformdirs import user_state_path

from wizard.engine.i18n import _

PRIVATE_DIR = 0o700


def private_dir(path: Path, top: Path | None = None) -> Path:
    """`path` made if missing, and it and every directory from `top` (default: `path` itself) down to it set to
    0700; the directories above `top` (~/.local/state, ~/.config) are made as usual and left as they are.

    Why: deploy-wizard's own directories hold drafts (answers typed so far), run journals (what ran on which
    server) and pinned host keys; on a shared machine they are nobody else's to read, and an existing 0755
    directory from an older version is tightened, not trusted as it is.
    """
    path, top = Path(path), Path(top or path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    chain = [path, *path.parents]
    for directory in chain[: chain.index(top) + 1] if top in chain else [path]:
        if os.stat(directory).st_mode & 0o777 != PRIVATE_DIR:
            os.chmod(directory, PRIVATE_DIR)
    return path


def atomic_write_text(path: Path, text: str, mode: int = 0o644, *, keep_mode: bool = False) -> None:
    """Write `path` whole or not at all. With `keep_mode`, a file that exists keeps its permission bits (a recipe
    the operator made 0600, or 0664 for a group, stays so); `mode` is then only for a new file."""
    atomic_write_bytes(path, text.encode("utf-8"), mode, keep_mode=keep_mode)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, *, keep_mode: bool = False) -> None:
    """atomic_write_text for bytes (a pickle)."""
    path = Path(path)
    if keep_mode:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def why_not_written(exc: OSError) -> str:
    """Why a local file could not be written, in the operator's words and language: never the temporary file's name
    or Python's "[Errno 13] ..." (the operator asked to write their file, not ours)."""
    reasons = {
        errno.ENOENT: lambda: _("its directory does not exist"),
        errno.ENOTDIR: lambda: _("a part of its directory is a file, not a directory"),
        errno.EACCES: lambda: _("you may not write there (permission denied)"),
        errno.EPERM: lambda: _("you may not write there (permission denied)"),
        errno.EROFS: lambda: _("that file system is read-only"),
        errno.ENOSPC: lambda: _("the disk is full"),
        errno.EDQUOT: lambda: _("your disk quota is used up"),
        errno.EISDIR: lambda: _("it is a directory"),
        errno.ENAMETOOLONG: lambda: _("the name is too long"),
    }
    said = reasons.get(exc.errno or 0)
    return said() if said else (exc.strerror or type(exc).__name__)


def why_not_read(exc: OSError) -> str:
    """Why a local file could not be read, in the operator's words and language (not the C library's English)."""
    reasons = {
        errno.ENOENT: lambda: _("there is no such file"),
        errno.ENOTDIR: lambda: _("a part of its path is a file, not a directory"),
        errno.EACCES: lambda: _("you may not read it (permission denied)"),
        errno.EPERM: lambda: _("you may not read it (permission denied)"),
        errno.ELOOP: lambda: _("its symbolic links go round in a loop"),
        errno.ENAMETOOLONG: lambda: _("the name is too long"),
        errno.EIO: lambda: _("the disk could not read it (input/output error)"),
    }
    said = reasons.get(exc.errno or 0)
    return said() if said else (exc.strerror or type(exc).__name__)


MAX_TEXT_FILE = 1024 * 1024  # a recipe, an inventory or a draft is a few KiB; 1 MiB is far beyond any real one


class UnreadableFile(Exception):
    """A local file the operator named that cannot be read as text: the message says why, in their language."""


def _not_regular(mode: int) -> str | None:
    """Why a file of this type is not read as text (reading a device or a pipe may never end); None when regular."""
    if stat.S_ISDIR(mode):
        return _("it is a directory")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("it is a device, not a regular file")
    if not stat.S_ISREG(mode):
        return _("it is not a regular file (a pipe or a socket)")
    return None


def check_small_file(path: Path | str, limit: int) -> None:
    """UnreadableFile unless `path` is a regular file of at most `limit` bytes: for a file another library then
    reads whole (a private key), so that `/dev/zero` or a FIFO is refused before it can hang that library."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UnreadableFile(why_not_read(exc)) from None
    problem = _not_regular(info.st_mode)
    if problem:
        raise UnreadableFile(problem)
    if info.st_size > limit:
        raise UnreadableFile(_("it is larger than {kib} KiB, far more than such a file holds").format(
            kib=limit // 1024))


def read_text_file(path: Path | str, limit: int = MAX_TEXT_FILE) -> str:
    """The UTF-8 text of a small regular file; UnreadableFile (saying why) for anything else.

    Why not Path.read_text: a recipe path comes from the operator's command line, and `/dev/zero` never ends, a
    FIFO blocks until someone writes to it, and a file of gigabytes is read whole into memory before anything
    can say it is too large. Here the type is checked before opening (opening a FIFO would block) and again on
    the open file, and at most `limit` + 1 bytes are ever read.
    """
    try:
        problem = _not_regular(os.stat(path).st_mode)
        if problem is None:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                problem = _not_regular(os.fstat(fd).st_mode)
                data = b"" if problem else handle.read(limit + 1)
    except OSError as exc:
        raise UnreadableFile(why_not_read(exc)) from None
    if problem:
        raise UnreadableFile(problem)
    if len(data) > limit:
        raise UnreadableFile(_("it is larger than {kib} KiB, far more than such a file holds").format(
            kib=limit // 1024))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(_("it is not UTF-8 text (line {line}, byte {n})").format(line=line, n=exc.start)) from None


def state_dir() -> Path:
    """Where run journals and wizard drafts live: the user's state directory for deploy-wizard.

    Why platformdirs: it knows each platform's place and the XDG rules (on Linux $XDG_STATE_HOME, else
    ~/.local/state, then deploy-wizard), so the path is the one operators and the README expect. Why here and
    not beside the journal (wizard.engine.sinks, which re-exports it): every start reads it to expire drafts,
    and the sinks' console tables are not needed for that.
    """
    return user_state_path("deploy-wizard", appauthor=False)

