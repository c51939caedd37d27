"""The sandbox base images: a debootstrapped Debian (13 by default, or 12) set up like a fresh cloud server.

Why build once and share: debootstrap takes minutes, while an overlay on a ready image boots in seconds. The
image lives under ``images/<key>/rootfs``, where the key hashes everything that shapes it (release, packages,
revision, this machine's mirror), so a change to any of them builds a new image instead of reusing a stale one.
Each sandbox only ever sees it read-only, as the lower layer of its overlay (see ``instance.py``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Literal

from wizard.engine.i18n import _
from wizard.lab.host import Progress, SandboxError, check_host, run_checked, state_dir, write_file

Release = Literal["trixie", "bookworm"]
# Debian's release names and numbers; the first is the default (Debian's current stable release).
RELEASES: dict[Release, str] = {"trixie": "13", "bookworm": "12"}
DEFAULT_RELEASE: Release = "trixie"
PACKAGES = (
    "systemd-sysv", "udev", "dbus", "openssh-server", "sudo", "python3", "ca-certificates",
    "iproute2", "procps", "less", "curl", "gnupg", "locales",
)
# Bump when the image configuration below changes, so cached images are rebuilt.
IMAGE_REVISION = 4
OPS_PASSWORD = "ops-practice"  # the practice sudo-with-password user; never a real credential


def image_key(release: Release = DEFAULT_RELEASE) -> str:
    """Hash of what the image is built from, so a changed recipe never reuses an old cached image."""
    spec = json.dumps([release, PACKAGES, IMAGE_REVISION, _mirrors()], sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def image_dir(release: Release = DEFAULT_RELEASE) -> Path:
    """One directory per image key, so images of different releases and build specs sit side by side."""
    return state_dir() / "images" / image_key(release)


def key_path() -> Path:
    """The one SSH key baked into every image's authorized_keys, so any sandbox can be reached without asking."""
    return state_dir() / "ssh" / "id_ed25519"


def _mirrors() -> tuple[str, str]:
    """(archive, security) mirrors: this machine's own where it names them (they work from here), else Debian's.

    Only the addresses are taken from this machine: its suites are its own release's, and a guest of another
    release needs its own (a Debian 12 host's sources would give a Debian 13 guest a Debian 12 archive)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    uris = re.findall(r"^URIs:\s*(\S+)", deb822.read_text(), re.M) if deb822.exists() else []
    archive = next((u for u in uris if not u.rstrip("/").endswith("-security")), "http://deb.debian.org/debian")
    security = next((u for u in uris if u.rstrip("/").endswith("-security")), "http://deb.debian.org/debian-security")
    return archive, security


def apt_sources(release: Release) -> str:
    """The guest's deb822 sources: its own release, its updates and its security archive, as on a cloud image."""
    archive, security = _mirrors()
    keyring = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    return (f"Types: deb\nURIs: {archive}\nSuites: {release} {release}-updates\nComponents: main\n{keyring}\n"
            f"Types: deb\nURIs: {security}\nSuites: {release}-security\nComponents: main\n{keyring}")


def describe(release: Release) -> str:
    """How messages name a release: "Debian 13 (trixie)"."""
    return f"Debian {RELEASES[release]} ({release})"


def ensure_image(release: Release = DEFAULT_RELEASE, progress: Progress = print) -> Path:
    """Build the base image once; later calls return at once.

    The build happens in ``<key>.building`` and is renamed into place only when complete, so an interrupted
    build is never mistaken for a ready image.
    """
    check_host()
    final = image_dir(release)
    rootfs = final / "rootfs"
    if (final / "ready").exists():
        return rootfs
    final.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time: two sandboxes booted at once on a machine without the image (CI's two lanes, two
    # terminals) would otherwise debootstrap into the same directory and make the lab key twice. The second
    # waits, then finds the image ready.
    with open(final.parent / ".build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(_("Another process is building a sandbox image; waiting for it ..."))
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "ready").exists():
            return rootfs
        _build(final, release, progress)
    return rootfs


def _build(final: Path, release: Release, progress: Progress) -> None:
    """debootstrap and configure the image in a scratch directory, renamed into place when complete."""
    tmp = final.with_name(final.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    progress(_("Building the {release} sandbox image (debootstrap, about two minutes, done once) ...").format(
        release=describe(release)))
    started = time.monotonic()
    cache = state_dir() / "debootstrap-cache"
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--cache-dir={cache}", f"--include={','.join(PACKAGES)}",
         release, str(tmp / "rootfs"), _mirrors()[0]],
        text=True, capture_output=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SandboxError(_("debootstrap failed (exit {code}):\n{output}").format(code=proc.returncode, output=tail))
    progress(_("  debootstrap done in {seconds:.0f} s; configuring ...").format(seconds=time.monotonic() - started))
    try:
        _configure_rootfs(tmp / "rootfs", release)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise SandboxError(_("Configuring the base image failed: {why}").format(why=str(detail).strip())) from None
    (tmp / "ready").write_text(image_key(release) + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    progress(_("Base image ready: {path}").format(path=final))


def _ensure_lab_key() -> str:
    """Create the lab key on first use and return its public half, to be authorized inside the image."""
    key = key_path()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(key.parent, 0o700)
        run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy-wizard-sandbox", "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def _configure_rootfs(root: Path, release: Release) -> None:
    """Make the image look like a fresh cloud server: sshd, a sudo user, the host's apt sources and CAs."""
    pub = _ensure_lab_key()

    def chroot(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["chroot", str(root), *args], check=True, input=stdin, text=True, capture_output=True)

    write_file(root / "etc/hostname", "sandbox\n")
    write_file(root / "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 sandbox\n::1 localhost ip6-localhost ip6-loopback\n")
    (root / "etc/machine-id").write_text("")  # first-boot semantics: a new machine id per boot
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    chroot("systemctl", "enable", "systemd-networkd.service")
    # apt from this machine's mirrors (they work from here) with the guest's own suites, and its local settings.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    write_file(root / "etc/apt/sources.list.d/debian.sources", apt_sources(release))
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
