"""A small disk of a sandbox's own, for the drill that fills one (`deploy-wizard learn drill disk-full`).

Why: the sandbox's / is an overlay on this machine's disk, so filling it would fill this machine. Instead this
machine makes a small ext4 image (in the sandbox's run directory: removed at `down`) and mounts it over one
directory of the running sandbox, with that directory's files copied in first, so the server sees a real disk
that can fill (`df` shows it as ext4) and nothing else on it changes.

How, with a container that may not mount anything itself: this machine attaches the image to a loop device (a
mount of its own with -o loop, so the device goes away with its last mount), then, in the container's mount
namespace (nsenter), makes a device node for it in the container's /dev for a moment and mounts it twice, first
on a scratch directory to copy the directory's files in, then over the directory. The scratch mount and this
machine's own mount are then taken away; the container's mount keeps the disk until the container stops.

Why not systemd-nspawn's propagation directory (/run/systemd/nspawn/propagate/NAME, what `machinectl bind`
uses): it only carries a mount into the container when this machine's mounts are shared, and on a machine
without systemd as PID 1 they are private (seen here: the drill's disk never appeared inside). And why not
`mount --move` inside: systemd-nspawn makes the container's mounts shared, and the kernel refuses to move a
mount out of a shared one.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from wizard.engine.i18n import _
from wizard.lab.host import SandboxError, run_checked, state_dir

# inside the container, as root ($1 $2: the loop device's major and minor, $3: the directory): the disk mounted on
# a scratch directory, the directory's files copied onto it, then mounted over the directory; the node and the
# scratch directory removed whatever happened
MOUNT = ('n=/dev/dw-disk; t=/run/dw-disk; mknod "$n" b "$1" "$2" && mkdir -p "$t" && mount "$n" "$t" && '
         '{ cp -a "$3"/. "$t"/; c=$?; umount "$t"; [ "$c" = 0 ]; } && mount "$n" "$3"; r=$?; rm -f "$n"; '
         'rmdir "$t" 2>/dev/null; exit $r')


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
    run = state_dir() / "run" / name
    image, here = run / "disk.img", run / "disk"
    with image.open("wb") as file:
        file.truncate(size_mb * 1024 * 1024)
    here.mkdir(exist_ok=True)
    try:
        run_checked(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "dw-disk", str(image)])
        run_checked(["mount", "-o", "loop", str(image), str(here)])  # -o loop: the device goes with its last mount
        try:
            device = os.stat(run_checked(["findmnt", "-n", "-o", "SOURCE", str(here)]).stdout.strip()).st_rdev
            run_checked(["nsenter", "-t", str(pid), "-m", "--", "sh", "-c", MOUNT, "sh", str(os.major(device)),
                         str(os.minor(device)), directory])
        finally:
            subprocess.run(["umount", str(here)], capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        why = (getattr(exc, "stderr", None) or "").strip() or getattr(exc, "returncode", None) or exc
        raise SandboxError(_("Could not give the sandbox {name} a small disk at {directory}: {why}").format(
            name=name, directory=directory, why=why)) from None
    finally:
        if not os.path.ismount(here):
            here.rmdir()
    return True


__all__ = ["attach", "container_pid", "is_mounted"]
