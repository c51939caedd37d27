"""When a command fails because a disk is full, say which disk, how full, and that nothing was left half-written.

Why a follow-up question to the server: the failing tool's own words ("No space left on device") name neither
the filesystem nor how much is free, and the operator's next move (free space or grow the disk) depends on
both. The path is taken from the tool's message when it names one, so the answer is the filesystem that path
is on; otherwise every nearly full filesystem is listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.engine.commands import sh
from wizard.engine.i18n import _
from wizard.engine.transports.base import Transport

MARKERS = ("No space left on device", "Disk quota exceeded", "[Errno 28]", "ENOSPC",
           "You don't have enough free space in")  # apt, before it downloads
_QUOTED_PATH = re.compile(r"""['"‘’`](/[^'"‘’`\s]+)['"‘’`]""")
_BARE_PATH = re.compile(r"(?:^|\s)(/[\w./@+-]+)")

# $@: paths the failing tool named; df of the nearest existing ancestor of each, or of every filesystem with
# under 1% or 1 MiB free when none was named. POSIX df: Filesystem, 1024-blocks, Used, Available, Capacity, Mount.
DF = r'''
if [ $# -gt 0 ]; then
  for p in "$@"; do while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname "$p"); done; df -P -- "$p" | tail -n +2; done
else
  df -P -x tmpfs -x devtmpfs 2>/dev/null | awk 'NR > 1 && ($4 < 1024 || $5 + 0 >= 99)'
fi | sort -u
'''


@dataclass(frozen=True)
class FullDisk:
    mount: str
    size_kib: int
    free_kib: int
    path: str | None


def disk_full(lines: Sequence[str]) -> bool:
    return any(marker in line for line in lines for marker in MARKERS)


def named_paths(lines: Sequence[str]) -> list[str]:
    """Absolute paths the tool named on its out-of-space lines (quoted ones first: they hold no stray words)."""
    found: list[str] = []
    for line in lines:
        if any(marker in line for marker in MARKERS):
            found += _QUOTED_PATH.findall(line) or _BARE_PATH.findall(line)
    return list(dict.fromkeys(path.rstrip(":,.") for path in found))[:3]


def parse_df(out: str, paths: Sequence[str]) -> list[FullDisk]:
    """One disk per df line; each path goes to the disk mounted closest to it."""
    mounts = []
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 6 and words[1].isdigit() and words[3].isdigit():
            mounts.append((" ".join(words[5:]), int(words[1]), int(words[3])))

    def holds(mount: str, path: str) -> bool:
        return path == mount or path.startswith(mount.rstrip("/") + "/")

    owner = {p: max((m for m, _s, _f in mounts if holds(m, p)), key=len, default=None) for p in paths}
    return [FullDisk(mount, size, free, next((p for p, m in owner.items() if m == mount), None))
            for mount, size, free in mounts]


def _size(kib: int) -> str:
    for unit, scale in (("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kib >= scale:
            return f"{kib / scale:.1f} {unit}"
    return f"{kib} KiB"


async def explain(transport: Transport, lines: Sequence[str]) -> str | None:
    """What to add to a failure whose output says a disk is full (None when it does not say so)."""
    if not disk_full(lines):
        return None
    paths = named_paths(lines)
    result = await transport.run(sh(DF, *paths))
    disks = parse_df(result.stdout, paths)
    if not disks:
        return _("A disk on the server is full. `df -h` there shows which; free space on it (or grow it), then "
                 "run again.")
    said = [_("The disk holding {mount} is full: {free} free of {size}{path}.").format(
        mount=d.mount, free=_size(d.free_kib), size=_size(d.size_kib),
        path=_(" (writing {path})").format(path=d.path) if d.path else "") for d in disks]
    return "\n".join([*said, _("Free space there (or grow it), then run again. The files deploy-wizard writes go "
                               "to a temporary name first and are renamed into place, so none was left half-written.")])
