"""What every sandbox job needs from this machine: root, a few tools, one state directory, one error type.

Kept apart from ``image.py`` and ``instance.py`` so both can use it without importing each other's internals,
and so ``sandbox.py`` (the public face) can re-export it without an import cycle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from wizard.engine.errors import DeployWizardError
from wizard.engine.i18n import _

# Where progress lines go: print for the CLI, a no-op for tests and benchmarks, the TUI's log for the app.
Progress = Callable[[str], None]


class SandboxError(DeployWizardError):
    """A sandbox operation failed; the message tells the operator what to do.

    Why a DeployWizardError: the CLI and the export catch that one base, print the message and take the exit
    code from the error (FAILED by default; BAD_INPUT where the operator named a bad or unknown sandbox), so
    a lab failure needs no converting wrapper to become an expected failure instead of a traceback.
    """


def state_dir() -> Path:
    """Read at every call, not once at import, so tests and parallel runs can point it elsewhere by env."""
    return Path(os.environ.get("DEPLOY_WIZARD_SANDBOX_DIR", "/var/lib/deploy-wizard/sandbox"))


def check_host() -> None:
    """Refuse early, with the reason, on machines that cannot run a sandbox."""
    if sys.platform != "linux":
        raise SandboxError(_("The sandbox needs Linux (systemd-nspawn); this is {platform}.").format(
            platform=sys.platform))
    if os.geteuid() != 0:
        raise SandboxError(_("The sandbox needs root (overlay mounts, veth network, NAT). Run it with sudo."))
    missing = [t for t in ("systemd-nspawn", "debootstrap", "iptables", "ssh-keygen", "ip") if not shutil.which(t)]
    if missing:
        raise SandboxError(_("Missing tools: {tools}. Install them with: apt-get install systemd-container "
                             "debootstrap iptables openssh-client iproute2").format(tools=", ".join(missing)))


def run_checked(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    """Run a host tool that must succeed; its stderr is captured so a failure can be shown to the operator."""
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload]


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file with an explicit mode: sshd and sudo refuse keys and drop-ins with loose permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def alive(pid: int) -> bool:
    """A process that still runs: teardown waits on this before it force-kills. A zombie is not alive (a child
    of ours is reaped here; any other only waits for its parent)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
