"""The sandbox base image: a debootstrapped Debian 12 configured like a fresh cloud server, built once.

Why build once and share: debootstrap takes minutes, while an overlay on a ready image boots in seconds. The
image lives under ``images/<key>/rootfs``, where the key hashes everything that shapes it (suite, packages,
revision, this machine's apt sources), so a change to any of them builds a new image instead of reusing a
stale one. Each sandbox only ever sees it read-only, as the lower layer of its overlay (see ``instance.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from wizard.engine.i18n import _
from wizard.lab.host import Progress, SandboxError, check_host, run_checked, state_dir, write_file

SUITE = "bookworm"
PACKAGES = (
    "systemd-sysv", "udev", "dbus", "openssh-server", "sudo", "python3", "ca-certificates",
    "iproute2", "procps", "less", "curl", "gnupg", "locales",
)
# Bump when the image configuration below changes, so cached images are rebuilt.
IMAGE_REVISION = 3
OPS_PASSWORD = "ops-practice"  # the practice sudo-with-password user; never a real credential


def image_key() -> str:
    """Hash of what the image is built from, so a changed recipe never reuses an old cached image."""
    spec = json.dumps([SUITE, PACKAGES, IMAGE_REVISION, _host_apt_sources()], sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def image_dir() -> Path:
    """One directory per image key, so images of different build specs can sit side by side."""
    return state_dir() / "images" / image_key()


def key_path() -> Path:
    """The one SSH key baked into every image's authorized_keys, so any sandbox can be reached without asking."""
    return state_dir() / "ssh" / "id_ed25519"


def _host_apt_sources() -> str:
    """This machine's apt sources: they work from here (mirror, proxy), so the sandbox uses the same ones."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    return deb822.read_text() if deb822.exists() else ""


def _mirror() -> str:
    """The mirror debootstrap fetches from: this machine's own, falling back to the public one."""
    match = re.search(r"^URIs:\s*(\S+)", _host_apt_sources(), re.M)
    return match.group(1) if match else "http://deb.debian.org/debian"


def ensure_image(progress: Progress = print) -> Path:
    """Build the base image once; later calls return at once.

    The build happens in ``<key>.building`` and is renamed into place only when complete, so an interrupted
    build is never mistaken for a ready image.
    """
    check_host()
    final = image_dir()
    rootfs = final / "rootfs"
    if (final / "ready").exists():
        return rootfs
    tmp = final.with_name(final.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    progress(f"Building the sandbox base image (debootstrap {SUITE}, about two minutes, done once) ...")
    started = time.monotonic()
    cache = state_dir() / "debootstrap-cache"
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--cache-dir={cache}", f"--include={','.join(PACKAGES)}",
         SUITE, str(tmp / "rootfs"), _mirror()],
        text=True, capture_output=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SandboxError(_("debootstrap failed (exit {code}):\n{output}").format(code=proc.returncode, output=tail))
    progress(f"  debootstrap done in {time.monotonic() - started:.0f} s; configuring ...")
    try:
        _configure_rootfs(tmp / "rootfs")
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise SandboxError(_("Configuring the base image failed: {why}").format(why=str(detail).strip())) from None
    (tmp / "ready").write_text(image_key() + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    progress(f"Base image ready: {final}")
    return rootfs


def _ensure_lab_key() -> str:
    """Create the lab key on first use and return its public half, to be authorized inside the image."""
    key = key_path()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(key.parent, 0o700)
        run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy-wizard-sandbox", "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def _configure_rootfs(root: Path) -> None:
    """Make the image look like a fresh cloud server: sshd, a sudo user, the host's apt sources and CAs."""
    pub = _ensure_lab_key()

    def chroot(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["chroot", str(root), *args], check=True, input=stdin, text=True, capture_output=True)

    write_file(root / "etc/hostname", "sandbox\n")
    write_file(root / "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 sandbox\n::1 localhost ip6-localhost ip6-loopback\n")
    (root / "etc/machine-id").write_text("")  # first-boot semantics: a new machine id per boot
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    chroot("systemctl", "enable", "systemd-networkd.service")
    # apt exactly like this machine (sources and local apt settings), so package downloads work here.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    if _host_apt_sources():
        write_file(root / "etc/apt/sources.list.d/debian.sources", _host_apt_sources())
    for conf in Path("/etc/apt/apt.conf.d").glob("99*"):
        shutil.copy(conf, root / "etc/apt/apt.conf.d" / conf.name)
    # Deterministic tests: no background apt run holding the dpkg lock (the lock-wait test holds it on purpose).
    chroot("systemctl", "mask", "apt-daily.timer", "apt-daily-upgrade.timer")
    # Extra CAs of this machine (HTTPS egress may pass a local CA), or pip/curl inside fail verification.
    extra = list(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    for crt in extra:
        shutil.copy(crt, root / "usr/local/share/ca-certificates" / crt.name)
    if extra:
        chroot("update-ca-certificates")
    chroot("sed", "-i", "s/^# *en_US.UTF-8/en_US.UTF-8/", "/etc/locale.gen")
    chroot("locale-gen")
    # Logins: root by key; admin = passwordless sudo; ops = sudo that asks a password (to practise that path).
    for user, home in (("root", "root"), ("admin", "home/admin"), ("ops", "home/ops")):
        if user != "root":
            chroot("useradd", "-m", "-s", "/bin/bash", "-G", "sudo", user)
        ssh_dir = root / home / ".ssh"
        write_file(ssh_dir / "authorized_keys", pub + "\n", 0o600)
        os.chmod(ssh_dir, 0o700)
        chroot("chown", "-R", f"{user}:{user}", f"/{home}/.ssh")
    chroot("chpasswd", stdin=f"ops:{OPS_PASSWORD}\n")
    write_file(root / "etc/sudoers.d/90-admin", "admin ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    write_file(root / "etc/ssh/sshd_config.d/10-sandbox.conf", "PermitRootLogin prohibit-password\nUseDNS no\n")
    for old in (root / "etc/ssh").glob("ssh_host_*"):
        old.unlink()  # every sandbox gets its own host keys at `up`
    chroot("apt-get", "clean")
