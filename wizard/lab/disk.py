"""A small disk of a sandbox's own, for the drill that fills one (`deploy-wizard learn drill disk-full`).

Why: the sandbox's / is an overlay on this machine's disk, so filling it would fill this machine. Instead this
machine makes a small ext4 image (in the sandbox's run directory: removed at `down`) and mounts it over one
directory of the running sandbox, with that directory's files copied in first, so the server sees a real disk
that can fill (`df` shows it as ext4) and nothing else on it changes.

How, with a container that may not mount anything itself: systemd-nspawn gives every container a propagation
directory (/run/systemd/nspawn/propagate/NAME on this machine, /run/host/incoming inside). A mount made there
appears inside; from this machine, in the container's mount namespace (nsenter), it is moved onto the
directory. This machine's side is then unmounted; the container's copy lives until the container stops.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from wizard.engine.i18n import _
from wizard.lab.host import SandboxError, run_checked, state_dir

PROPAGATE = Path("/run/systemd/nspawn/propagate")
INCOMING = "/run/host/incoming"
SLOT = "dw-disk"
# inside the container, as root: the disk taken out of the incoming directory (which is read-only there) to a
# place of its own and made writable, the directory's files copied onto it, then the disk moved over the directory
MOVE = ('t=/run/dw-disk; mkdir -p "$t" && mount --move "$1" "$t" && mount -o remount,bind,rw "$t" && '
        'cp -a "$2"/. "$t"/ && mount --move "$t" "$2" && rmdir "$t"')


def container_pid(name: str) -> int:
    """The container's PID 1 as this machine sees it: the one child of its systemd-nspawn."""
    try:
        nspawn = int((state_dir() / "run" / name / "nspawn.pid").read_text())
        children = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()
    except (OSError, ValueError):
        children = []
    if not children:
        raise SandboxError(_("The sandbox {name} is not running: `deploy-wizard sandbox status` lists them.").format(
            name=name))
    return int(children[0])


def is_mounted(pid: int, directory: str) -> bool:
    return subprocess.run(["nsenter", "-t", str(pid), "-m", "--", "mountpoint", "-q", directory],
                          capture_output=True).returncode == 0


def attach(name: str, directory: str, size_mb: int = 48) -> bool:
    """Put a disk of `size_mb` MiB over `directory` in sandbox `name`; False when one is there already."""
    pid = container_pid(name)
    if is_mounted(pid, directory):
        return False
    slot = PROPAGATE / name / SLOT
    if not slot.parent.is_dir():
        raise SandboxError(_("This systemd-nspawn gives the sandbox no propagation directory ({path}): the drill's "
                             "disk cannot be mounted into it.").format(path=slot.parent))
    image = state_dir() / "run" / name / "disk.img"
    with image.open("wb") as file:
        file.truncate(size_mb * 1024 * 1024)
    slot.mkdir(exist_ok=True)
    try:
        run_checked(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", SLOT, str(image)])
        run_checked(["mount", "-o", "loop", str(image), str(slot)])
        try:
            run_checked(["nsenter", "-t", str(pid), "-m", "--", "sh", "-c", MOVE, "sh", f"{INCOMING}/{SLOT}",
                         directory])
        finally:
            subprocess.run(["umount", "-l", str(slot)], capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise SandboxError(_("Could not give the sandbox {name} a small disk at {directory}: {why}").format(
            name=name, directory=directory, why=(exc.stderr or "").strip() or exc.returncode)) from None
    finally:
        slot.rmdir()
    return True


__all__ = ["attach", "container_pid", "is_mounted"]
