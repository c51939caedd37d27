"""Local file writes that never leave a half-written file behind (a crash keeps the old one)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from wizard.engine.i18n import _


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    path = Path(path)
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
