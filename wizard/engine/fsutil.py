"""Local file writes that never leave a half-written file behind (a crash keeps the old one)."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

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
    path = Path(path)
    if keep_mode:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
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
