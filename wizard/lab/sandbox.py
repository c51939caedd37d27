"""A throwaway Debian server (13 by default, or 12) on this machine, for practice and for the live tests.

Why systemd-nspawn: the wizard's steps talk to systemd, sshd, apt, nginx and ufw, so the target must be a
real booted Debian with systemd as PID 1. nspawn gives that in about three seconds from a debootstrapped
image, without a hypervisor (nested KVM does not boot here and TCG is far too slow for package work).

Layout under the state directory (``$DEPLOY_WIZARD_SANDBOX_DIR``, default ``/var/lib/deploy-wizard/sandbox``):

- ``images/<key>/rootfs``  the base image, built once per build-recipe hash and shared read-only;
- ``ssh/id_ed25519``       the key that logs into every sandbox (root, ``admin`` and ``ops``);
- ``run/<name>/``          one running sandbox: overlay layers, network files, pids, ``info.json``.

Each ``up`` gets a fresh overlay (a clean server) and fresh SSH host keys, so trust-on-first-use is real.

This module is only the public face (``from wizard.lab import sandbox``; ``sandbox.up(...)``), so callers do not
depend on how the work is split: ``host.py`` checks the machine and holds the shared helpers, ``image.py``
builds and caches the base image, ``instance.py`` runs one sandbox, ``supervisor.py`` keeps its container alive.
"""

from __future__ import annotations

from wizard.lab import practice
from wizard.lab.host import Progress, SandboxError, check_host, state_dir
from wizard.lab.image import (
    DEFAULT_RELEASE,
    IMAGE_REVISION,
    OPS_PASSWORD,
    PACKAGES,
    RELEASES,
    Release,
    describe,
    ensure_image,
    image_dir,
    image_key,
    key_path,
)
from wizard.lab.instance import (
    NAME_RE,
    SUBNET,
    SandboxInfo,
    down,
    is_running,
    lab_dir,
    list_sandboxes,
    ssh_command,
    up,
)
from wizard.lab.practice import Lab

__all__ = [
    "DEFAULT_RELEASE", "IMAGE_REVISION", "NAME_RE", "OPS_PASSWORD", "PACKAGES", "RELEASES", "SUBNET",
    "Lab", "Progress", "Release", "SandboxError", "SandboxInfo",
    "check_host", "describe", "down", "ensure_image", "image_dir", "image_key", "is_running", "key_path",
    "lab_dir", "list_sandboxes", "practice", "ssh_command", "state_dir", "up",
]
