"""One running sandbox: its overlay, network, boot, SSH access, teardown and status.

Why an overlay per ``up``: the base image (``image.py``) stays read-only and shared, while every sandbox starts
as a clean server whose changes vanish at ``down``. Each one gets its own /24 (``10.99.<index>.0``) on a veth
pair, NATed out through this machine's default route, and fresh SSH host keys, so trust-on-first-use is real.
The container itself is run by ``supervisor.py``, detached, so it survives guest reboots and ``up`` can return.

Files under ``run/<name>/``: ``upper``/``work``/``merged`` (the overlay), ``host0.network`` and ``resolv.conf``
(bound into the guest), ``supervisor.pid``/``nspawn.pid``, ``console.log``, ``info.json``, ``known_hosts``.
A boot that fails leaves its console log under ``logs/`` (the newest 20 are kept); the rest goes at ``down``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wizard.engine import hostkeys
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _
from wizard.engine.validators import hostname, is_address
from wizard.lab import limits, practice
from wizard.lab.host import Progress, SandboxError, alive, check_host, run_checked, state_dir, write_file
from wizard.lab.image import DEFAULT_RELEASE, RELEASES, Release, ensure_image, key_path

SUBNET = "10.99"
KEEP_CONSOLES = 20  # console logs of failed boots kept under logs/, the newest ones
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,11}$")  # "ve-" + name must fit IFNAMSIZ (15)


@dataclass
class SandboxInfo:
    """How to reach one sandbox; saved as ``info.json`` so status, ssh and down work from another process."""

    name: str
    index: int
    ip: str
    port: int
    key: str
    host_key: str  # "ssh-ed25519 AAAA..."
    fingerprint: str  # "SHA256:..."
    started: float
    release: Release = "bookworm"  # info.json files written before there was a choice were all Debian 12

    @property
    def upper_dir(self) -> Path:
        """Every file the server wrote since it booted (the overlay's upper layer, over the read-only image):
        how a test proves that a dry run wrote nothing."""
        return _run_dir(self.name) / "upper"

    @property
    def host_ip(self) -> str:
        """This machine's end of the veth pair: the guest's gateway."""
        return f"{SUBNET}.{self.index}.1"


def _run_dir(name: str) -> Path:
    return state_dir() / "run" / name


def _claims() -> Path:
    return state_dir() / "claims"


def list_sandboxes() -> list[SandboxInfo]:
    """Every sandbox with an ``info.json``, running or not; unreadable ones are skipped, not fatal."""
    found: list[SandboxInfo] = []
    for info in sorted((state_dir() / "run").glob("*/info.json")):
        try:
            found.append(SandboxInfo(**json.loads(info.read_text())))
        except (ValueError, TypeError):
            continue
    return found


def is_running(name: str) -> bool:
    """Running means its supervisor lives: the supervisor outlives guest reboots, nspawn's pid does not."""
    pid_file = _run_dir(name) / "supervisor.pid"
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


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
    raise SandboxError(_("200 sandboxes are running; take some down first."))


def _default_route_interface() -> str:
    """The interface NAT masquerades out of; empty when this machine has no default route (offline)."""
    out = run_checked(["ip", "route", "show", "default"]).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else ""


def _nat(index: int, add: bool) -> None:
    """Add or remove the sandbox's MASQUERADE rule, checking first so repeats and cleanups are harmless."""
    iface = _default_route_interface()
    if not iface:
        return
    rule = ["-s", f"{SUBNET}.{index}.0/24", "-o", iface, "-j", "MASQUERADE"]
    exists = subprocess.run(["iptables", "-t", "nat", "-C", "POSTROUTING", *rule], capture_output=True).returncode == 0
    if add and not exists:
        run_checked(["iptables", "-t", "nat", "-A", "POSTROUTING", *rule])
    elif not add and exists:
        run_checked(["iptables", "-t", "nat", "-D", "POSTROUTING", *rule])


def _wait_for_ssh(ip: str, port: int, timeout: float, supervisor_pid: int) -> str:
    """Wait for sshd's banner, not just an open port; fail fast if the guest died. Empty when it answered, else
    why not (the caller adds the console, which it keeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return ""
        except OSError:
            pass
        try:
            os.kill(supervisor_pid, 0)
        except OSError:
            return _("The sandbox stopped while booting.")
        time.sleep(0.2)
    return _("The sandbox did not answer on {ip}:{port} within {seconds:.0f} s.").format(
        ip=ip, port=port, seconds=timeout)


def _boot_failed(name: str, why: str) -> SandboxError:
    """Take the sandbox down but keep its console log (``logs/NAME-TIME.console.log``), and say where it is."""
    kept = state_dir() / "logs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.console.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    for old in sorted(kept.parent.glob("*.console.log"), key=lambda p: p.stat().st_mtime)[:1 - KEEP_CONSOLES]:
        old.unlink(missing_ok=True)
    try:  # moved, not copied: nspawn still writes into it while `down` powers the guest off
        (_run_dir(name) / "console.log").rename(kept)
    except OSError:
        kept.touch()
    text = kept.read_text(errors="replace")  # the boot as it went, before the poweroff's lines
    down(name, progress=lambda _m: None)
    tail = "\n".join(text.splitlines()[-20:])
    hint = limits.explain_boot_failure(text)
    return SandboxError(_("{why} The last lines of its console:\n{tail}\n{hint}The whole console log is kept in "
                          "{path}").format(why=why, tail=tail, hint=f"{hint}\n" if hint else "", path=kept))


def up(name: str | None = None, progress: Progress = print, boot_timeout: float = 90,
       release: Release = DEFAULT_RELEASE, lab: bool = False, domains: tuple[str, ...] = ()) -> SandboxInfo:
    """Boot a clean sandbox and return how to reach it; with `lab`, the practice lab too (``practice.py``), whose
    server resolves the example domains and `domains` (your own app's names) to itself."""
    _check_domains(domains, lab)
    check_host()
    if release not in RELEASES:
        raise SandboxError(_("Unknown release {release}: choose one of {choices}.").format(
            release=repr(release), choices=", ".join(RELEASES)), exit_code=ExitCode.BAD_INPUT)
    if name is not None and not NAME_RE.match(name):  # before the image build: a typo must not cost minutes
        raise SandboxError(_("Bad sandbox name {name}: use 1-12 of a-z, 0-9 and '-', starting with a letter.").format(
            name=repr(name)), exit_code=ExitCode.BAD_INPUT)
    if name is not None and is_running(name):
        raise SandboxError(_("Sandbox {quoted} is already running; `deploy-wizard sandbox down {name}` first.").format(
            quoted=repr(name), name=name))
    rootfs = ensure_image(release, progress)
    limits.ensure_inotify(sum(is_running(info.name) for info in list_sandboxes()), progress)
    index = _free_index()
    name = name or f"sandbox{index}"
    run = _run_dir(name)
    try:
        _teardown_files(run)
        for sub in ("upper", "work", "merged"):
            (run / sub).mkdir(parents=True)
        run_checked(["mount", "-t", "overlay", "overlay", "-o",
                     f"lowerdir={rootfs},upperdir={run / 'upper'},workdir={run / 'work'}", str(run / "merged")])
        run_checked(["ssh-keygen", "-A", "-f", str(run / "merged")])
        host_key = " ".join((run / "merged/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2])
        ip, host_ip = f"{SUBNET}.{index}.2", f"{SUBNET}.{index}.1"
        write_file(run / "host0.network", f"[Match]\nName=host0\n[Network]\nAddress={ip}/24\nGateway={host_ip}\n")
        nameserver = re.search(r"^nameserver\s+(\S+)", Path("/etc/resolv.conf").read_text(), re.M)
        write_file(run / "resolv.conf", f"nameserver {nameserver.group(1) if nameserver else '1.1.1.1'}\n")
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
                           fingerprint=hostkeys.fingerprint_of(host_key), started=time.time(), release=release)
        (run / "info.json").write_text(json.dumps(asdict(info), indent=2))
        (run / "known_hosts").write_text(f"{ip} {host_key}\n")
    except (OSError, subprocess.CalledProcessError) as exc:
        # leave nothing behind: no half-mounted overlay, no NAT rule, no claimed subnet
        _nat(index, add=False)
        _teardown_files(run)
        shutil.rmtree(_claims() / str(index), ignore_errors=True)
        detail = getattr(exc, "stderr", None) or str(exc)
        raise SandboxError(_("Could not start the sandbox: {why}").format(why=str(detail).strip())) from None
    started = time.monotonic()
    failed = _wait_for_ssh(ip, 22, boot_timeout, sup.pid)
    if failed:
        raise _boot_failed(name, failed)
    # We generated this host key ourselves, so it is trusted without asking.
    hostkeys.HostKeyStore().add(ip, 22, host_key)
    if lab:
        try:
            practice.trust(practice.start(lab_dir(name), host_ip, ip), ssh_command(name, "root"), ip,
                           practice.resolved(domains))
        except (SandboxError, OSError, subprocess.CalledProcessError) as exc:
            down(name, progress=lambda _m: None)  # nothing half made: no sandbox without the lab asked for
            raise SandboxError(_("The practice lab did not start: {why}").format(
                why=getattr(exc, "stderr", None) or exc)) from None
    progress(_("Sandbox {name} booted in {seconds:.1f} s at {ip}").format(
        name=name, seconds=time.monotonic() - started, ip=ip))
    return info


def _check_domains(domains: tuple[str, ...], lab: bool) -> None:
    """Before anything boots: each --domain a host name, and only with the lab (which makes the server resolve it)."""
    if domains and not lab:
        raise SandboxError(_("--domain needs --lab: the lab makes the sandbox resolve those names to itself."),
                           exit_code=ExitCode.BAD_INPUT)
    for domain in domains:
        try:
            hostname(domain)
        except ValueError as exc:
            raise SandboxError(_("--domain: {why}").format(why=exc), exit_code=ExitCode.BAD_INPUT) from None
        if "." not in domain.strip(".") or is_address(domain):  # localhost, or an address: not a site's name
            raise SandboxError(_("--domain: '{d}' is not a site's name (it needs a dot, like app.example.test, and "
                                 "is not an address)").format(d=domain), exit_code=ExitCode.BAD_INPUT)


def lab_dir(name: str) -> Path:
    """The practice lab beside a sandbox (its repositories, test CA and pids); absent without ``--lab``."""
    return _run_dir(name) / "lab"


def _teardown_files(run: Path) -> None:
    """Unmount lazily before deleting, or rmtree would walk into the mounted overlay (and the shared image)."""
    merged = run / "merged"
    if merged.exists() and subprocess.run(["mountpoint", "-q", str(merged)]).returncode == 0:
        subprocess.run(["umount", "-l", str(merged)], check=False)
    shutil.rmtree(run, ignore_errors=True)


def down(name: str, progress: Progress = print) -> None:
    """Stop a sandbox and remove every trace of it (overlay, NAT rule, trusted host key)."""
    check_host()
    run = _run_dir(name)
    if not run.exists():
        raise SandboxError(_("No sandbox named {name}. `deploy-wizard sandbox status` lists them.").format(
            name=repr(name)), exit_code=ExitCode.BAD_INPUT)
    (run / "stopping").touch()
    info_file = run / "info.json"
    info = SandboxInfo(**json.loads(info_file.read_text())) if info_file.exists() else None
    pids: dict[str, int] = {}
    for label in ("nspawn", "supervisor"):
        try:
            pids[label] = int((run / f"{label}.pid").read_text())
        except (OSError, ValueError):
            pass
    if "nspawn" in pids:
        _signal(pids["nspawn"], signal.SIGTERM)  # nspawn turns SIGTERM into an orderly poweroff
    sup = pids.get("supervisor")
    deadline = time.monotonic() + 15
    while sup and alive(sup) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids.values():
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    practice.stop(lab_dir(name))
    if info:
        _nat(info.index, add=False)
        hostkeys.HostKeyStore().remove(info.ip, info.port)
        shutil.rmtree(_claims() / str(info.index), ignore_errors=True)
    _teardown_files(run)
    progress(_("Sandbox {name} is down and removed.").format(name=name))


def _signal(pid: int, sig: int) -> None:
    """Signal a process that may already be gone: teardown must go on either way."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def ssh_command(name: str, user: str = "root", extra: list[str] | None = None) -> list[str]:
    """The ssh argv for a sandbox, pinned to its own known_hosts so it never touches the operator's."""
    run = _run_dir(name)
    if not (run / "info.json").exists():
        raise SandboxError(_("No sandbox named {name}. `deploy-wizard sandbox status` lists them.").format(
            name=repr(name)), exit_code=ExitCode.BAD_INPUT)
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):  # never an ssh option in disguise ("-oProxyCommand=")
        raise SandboxError(_("'{user}' is not a user name").format(user=user), exit_code=ExitCode.BAD_INPUT)
    info = SandboxInfo(**json.loads((run / "info.json").read_text()))
    return ["ssh", "-i", info.key, "-p", str(info.port), "-o", f"UserKnownHostsFile={run / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", f"{user}@{info.ip}", *(extra or [])]
