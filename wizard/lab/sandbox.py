"""A throwaway Debian 12 server on this machine, for practice and for the live tests.

Why systemd-nspawn: the wizard's steps talk to systemd, sshd, apt, nginx and ufw, so the target must be a
real booted Debian with systemd as PID 1. nspawn gives that in about three seconds from a debootstrapped
image, without a hypervisor (nested KVM does not boot here and TCG is far too slow for package work).

Layout under the state directory (``$DEPLOY_WIZARD_SANDBOX_DIR``, default ``/var/lib/deploy-wizard/sandbox``):

- ``images/<key>/rootfs``  the base image, built once per build-recipe hash and shared read-only;
- ``ssh/id_ed25519``       the key that logs into every sandbox (root, ``admin`` and ``ops``);
- ``run/<name>/``          one running sandbox: overlay layers, network files, pids, ``info.json``.

Each ``up`` gets a fresh overlay (a clean server) and fresh SSH host keys, so trust-on-first-use is real.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from wizard.engine import hostkeys

SUITE = "bookworm"
PACKAGES = (
    "systemd-sysv", "udev", "dbus", "openssh-server", "sudo", "python3", "ca-certificates",
    "iproute2", "procps", "less", "curl", "gnupg", "locales",
)
# Bump when the image configuration below changes, so cached images are rebuilt.
IMAGE_REVISION = 3
SUBNET = "10.99"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,11}$")  # "ve-" + name must fit IFNAMSIZ (15)
OPS_PASSWORD = "ops-practice"  # the practice sudo-with-password user; never a real credential

Progress = Callable[[str], None]


class SandboxError(Exception):
    """A sandbox operation failed; the message tells the operator what to do."""


@dataclass
class SandboxInfo:
    name: str
    index: int
    ip: str
    port: int
    key: str
    host_key: str  # "ssh-ed25519 AAAA..."
    fingerprint: str  # "SHA256:..."
    started: float

    @property
    def host_ip(self) -> str:
        return f"{SUBNET}.{self.index}.1"


def state_dir() -> Path:
    return Path(os.environ.get("DEPLOY_WIZARD_SANDBOX_DIR", "/var/lib/deploy-wizard/sandbox"))


def image_key() -> str:
    spec = json.dumps([SUITE, PACKAGES, IMAGE_REVISION, _host_apt_sources()], sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def image_dir() -> Path:
    return state_dir() / "images" / image_key()


def key_path() -> Path:
    return state_dir() / "ssh" / "id_ed25519"


def check_host() -> None:
    """Refuse early, with the reason, on machines that cannot run a sandbox."""
    if sys.platform != "linux":
        raise SandboxError("The sandbox needs Linux (systemd-nspawn); this is " + sys.platform + ".")
    if os.geteuid() != 0:
        raise SandboxError("The sandbox needs root (overlay mounts, veth network, NAT). Run it with sudo.")
    missing = [t for t in ("systemd-nspawn", "debootstrap", "iptables", "ssh-keygen", "ip") if not shutil.which(t)]
    if missing:
        raise SandboxError(
            "Missing tools: " + ", ".join(missing)
            + ". Install them with: apt-get install systemd-container debootstrap iptables openssh-client iproute2"
        )


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload]


def _host_apt_sources() -> str:
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    return deb822.read_text() if deb822.exists() else ""


def _mirror() -> str:
    match = re.search(r"^URIs:\s*(\S+)", _host_apt_sources(), re.M)
    return match.group(1) if match else "http://deb.debian.org/debian"


# ---------------------------------------------------------------------------------------------- image


def ensure_image(progress: Progress = print) -> Path:
    """Build the base image once; later calls return at once."""
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
        raise SandboxError(f"debootstrap failed (exit {proc.returncode}):\n{tail}")
    progress(f"  debootstrap done in {time.monotonic() - started:.0f} s; configuring ...")
    try:
        _configure_rootfs(tmp / "rootfs")
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise SandboxError(f"Configuring the base image failed: {str(detail).strip()}") from None
    (tmp / "ready").write_text(image_key() + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    progress(f"Base image ready: {final}")
    return rootfs


def _ensure_lab_key() -> str:
    key = key_path()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(key.parent, 0o700)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy-wizard-sandbox", "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def _configure_rootfs(root: Path) -> None:
    """Make the image look like a fresh cloud server: sshd, a sudo user, the host's apt sources and CAs."""
    pub = _ensure_lab_key()

    def chroot(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["chroot", str(root), *args], check=True, input=stdin, text=True, capture_output=True)

    _write(root / "etc/hostname", "sandbox\n")
    _write(root / "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 sandbox\n::1 localhost ip6-localhost ip6-loopback\n")
    (root / "etc/machine-id").write_text("")  # first-boot semantics: a new machine id per boot
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    chroot("systemctl", "enable", "systemd-networkd.service")
    # apt exactly like this machine (sources and local apt settings), so package downloads work here.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    if _host_apt_sources():
        _write(root / "etc/apt/sources.list.d/debian.sources", _host_apt_sources())
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
        _write(ssh_dir / "authorized_keys", pub + "\n", 0o600)
        os.chmod(ssh_dir, 0o700)
        chroot("chown", "-R", f"{user}:{user}", f"/{home}/.ssh")
    chroot("chpasswd", stdin=f"ops:{OPS_PASSWORD}\n")
    _write(root / "etc/sudoers.d/90-admin", "admin ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    _write(root / "etc/ssh/sshd_config.d/10-sandbox.conf", "PermitRootLogin prohibit-password\nUseDNS no\n")
    for old in (root / "etc/ssh").glob("ssh_host_*"):
        old.unlink()  # every sandbox gets its own host keys at `up`
    chroot("apt-get", "clean")


# ---------------------------------------------------------------------------------------------- run


def _run_dir(name: str) -> Path:
    return state_dir() / "run" / name


def list_sandboxes() -> list[SandboxInfo]:
    found = []
    for info in sorted((state_dir() / "run").glob("*/info.json")):
        try:
            found.append(SandboxInfo(**json.loads(info.read_text())))
        except (ValueError, TypeError):
            continue
    return found


def is_running(name: str) -> bool:
    pid_file = _run_dir(name) / "supervisor.pid"
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _claims() -> Path:
    return state_dir() / "claims"


def _free_index() -> int:
    """Claim a subnet index atomically (mkdir), so sandboxes started at the same moment never share one."""
    used = {info.index for info in list_sandboxes()}
    _claims().mkdir(parents=True, exist_ok=True)
    for index in range(1, 201):
        if index in used:
            continue
        claim = _claims() / str(index)
        if claim.exists() and time.time() - claim.stat().st_mtime > 600:
            shutil.rmtree(claim, ignore_errors=True)  # left by a run that died before its sandbox existed
        try:
            (_claims() / str(index)).mkdir()
        except FileExistsError:
            continue
        return index
    raise SandboxError("200 sandboxes are running; take some down first.")


def _default_route_interface() -> str:
    out = _run(["ip", "route", "show", "default"]).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else ""


def _nat(index: int, add: bool) -> None:
    iface = _default_route_interface()
    if not iface:
        return
    rule = ["-s", f"{SUBNET}.{index}.0/24", "-o", iface, "-j", "MASQUERADE"]
    exists = subprocess.run(["iptables", "-t", "nat", "-C", "POSTROUTING", *rule], capture_output=True).returncode == 0
    if add and not exists:
        _run(["iptables", "-t", "nat", "-A", "POSTROUTING", *rule])
    elif not add and exists:
        _run(["iptables", "-t", "nat", "-D", "POSTROUTING", *rule])


def _wait_for_ssh(ip: str, port: int, timeout: float, supervisor_pid: int, console: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            pass
        try:
            os.kill(supervisor_pid, 0)
        except OSError:
            tail = "\n".join(console.read_text(errors="replace").splitlines()[-20:]) if console.exists() else ""
            raise SandboxError(f"The sandbox stopped while booting. Console:\n{tail}") from None
        time.sleep(0.2)
    raise SandboxError(f"The sandbox did not answer on {ip}:{port} within {timeout:.0f} s (see {console}).")


def up(name: str | None = None, progress: Progress = print, boot_timeout: float = 90) -> SandboxInfo:
    """Boot a clean sandbox and return how to reach it."""
    check_host()
    rootfs = ensure_image(progress)
    if name is not None and not NAME_RE.match(name):
        raise SandboxError(f"Bad sandbox name {name!r}: use 1-12 of a-z, 0-9 and '-', starting with a letter.")
    if name is not None and is_running(name):
        raise SandboxError(f"Sandbox {name!r} is already running; `deploy-wizard sandbox down {name}` first.")
    index = _free_index()
    name = name or f"sandbox{index}"
    run = _run_dir(name)
    try:
        _teardown_files(run)
        for sub in ("upper", "work", "merged"):
            (run / sub).mkdir(parents=True)
        _run(["mount", "-t", "overlay", "overlay", "-o",
              f"lowerdir={rootfs},upperdir={run / 'upper'},workdir={run / 'work'}", str(run / "merged")])
        _run(["ssh-keygen", "-A", "-f", str(run / "merged")])
        host_key = " ".join((run / "merged/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2])
        ip, host_ip = f"{SUBNET}.{index}.2", f"{SUBNET}.{index}.1"
        _write(run / "host0.network", f"[Match]\nName=host0\n[Network]\nAddress={ip}/24\nGateway={host_ip}\n")
        nameserver = re.search(r"^nameserver\s+(\S+)", Path("/etc/resolv.conf").read_text(), re.M)
        _write(run / "resolv.conf", f"nameserver {nameserver.group(1) if nameserver else '1.1.1.1'}\n")
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
        _nat(index, add=True)
        console = run / "console.log"
        with open(console, "ab") as log:
            sup = subprocess.Popen(
                [sys.executable, "-m", "wizard.lab.supervisor", name, str(run), host_ip],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                cwd=str(Path(__file__).resolve().parents[2]),
            )
        (run / "supervisor.pid").write_text(f"{sup.pid}\n")
        info = SandboxInfo(name=name, index=index, ip=ip, port=22, key=str(key_path()), host_key=host_key,
                           fingerprint=hostkeys.fingerprint_of(host_key), started=time.time())
        (run / "info.json").write_text(json.dumps(asdict(info), indent=2))
        (run / "known_hosts").write_text(f"{ip} {host_key}\n")
    except (OSError, subprocess.CalledProcessError) as exc:
        # leave nothing behind: no half-mounted overlay, no NAT rule, no claimed subnet
        _nat(index, add=False)
        _teardown_files(run)
        shutil.rmtree(_claims() / str(index), ignore_errors=True)
        detail = getattr(exc, "stderr", None) or str(exc)
        raise SandboxError(f"Could not start the sandbox: {str(detail).strip()}") from None
    started = time.monotonic()
    try:
        _wait_for_ssh(ip, 22, boot_timeout, sup.pid, console)
    except SandboxError:
        down(name)
        raise
    # We generated this host key ourselves, so it is trusted without asking.
    hostkeys.HostKeyStore().add(ip, 22, host_key)
    progress(f"Sandbox {name} booted in {time.monotonic() - started:.1f} s at {ip}")
    return info


def _teardown_files(run: Path) -> None:
    merged = run / "merged"
    if merged.exists() and subprocess.run(["mountpoint", "-q", str(merged)]).returncode == 0:
        subprocess.run(["umount", "-l", str(merged)], check=False)
    shutil.rmtree(run, ignore_errors=True)


def down(name: str, progress: Progress = print) -> None:
    """Stop a sandbox and remove every trace of it (overlay, NAT rule, trusted host key)."""
    check_host()
    run = _run_dir(name)
    if not run.exists():
        raise SandboxError(f"No sandbox named {name!r}. `deploy-wizard sandbox status` lists them.")
    (run / "stopping").touch()
    info_file = run / "info.json"
    info = SandboxInfo(**json.loads(info_file.read_text())) if info_file.exists() else None
    pids = {}
    for label in ("nspawn", "supervisor"):
        try:
            pids[label] = int((run / f"{label}.pid").read_text())
        except (OSError, ValueError):
            pass
    if "nspawn" in pids:
        _signal(pids["nspawn"], signal.SIGTERM)  # nspawn turns SIGTERM into an orderly poweroff
    sup = pids.get("supervisor")
    deadline = time.monotonic() + 15
    while sup and _alive(sup) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids.values():
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    if info:
        _nat(info.index, add=False)
        hostkeys.HostKeyStore().remove(info.ip, info.port)
        shutil.rmtree(_claims() / str(info.index), ignore_errors=True)
    _teardown_files(run)
    progress(f"Sandbox {name} is down and removed.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def ssh_command(name: str, user: str = "root", extra: list[str] | None = None) -> list[str]:
    run = _run_dir(name)
    if not (run / "info.json").exists():
        raise SandboxError(f"No sandbox named {name!r}. `deploy-wizard sandbox status` lists them.")
    info = SandboxInfo(**json.loads((run / "info.json").read_text()))
    return ["ssh", "-i", info.key, "-p", str(info.port), "-o", f"UserKnownHostsFile={run / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", f"{user}@{info.ip}", *(extra or [])]
