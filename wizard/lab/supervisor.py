"""Keeps one sandbox's systemd-nspawn running across guest reboots (nspawn exits 133 on reboot).

Runs detached from the CLI (its own session), so `sandbox up` can return while the server lives on.
Usage: python -m wizard.lab.supervisor NAME RUN_DIR HOST_IP
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from wizard.engine.i18n import _

REBOOT_EXIT = 133


def _configure_host_end(name: str, host_ip: str) -> None:
    """Without systemd-networkd on this machine, the host end of the veth pair needs its address by hand."""
    link = f"ve-{name}"
    for _attempt in range(100):
        if subprocess.run(["ip", "link", "show", link], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["ip", "addr", "add", f"{host_ip}/24", "dev", link], capture_output=True)
    subprocess.run(["ip", "link", "set", link, "up"], capture_output=True)


def supervise(name: str, run: Path, host_ip: str) -> int:
    """Restart nspawn after a guest reboot (exit 133) so the sandbox survives it; stop on other exits or at `down`."""
    while True:
        proc = subprocess.Popen(
            ["systemd-nspawn", "--boot", "--quiet", "--register=no", "--keep-unit", f"--machine={name}",
             f"--directory={run / 'merged'}", "--network-veth",
             f"--bind-ro={run / 'host0.network'}:/etc/systemd/network/10-host0.network",
             f"--bind-ro={run / 'resolv.conf'}:/etc/resolv.conf"],
            stdin=subprocess.DEVNULL,
        )
        (run / "nspawn.pid").write_text(f"{proc.pid}\n")
        _configure_host_end(name, host_ip)
        rc = proc.wait()
        print(_("deploy-wizard supervisor: systemd-nspawn exited with status {rc}").format(rc=rc), file=sys.stderr,
              flush=True)
        if rc != REBOOT_EXIT or (run / "stopping").exists():
            return rc


if __name__ == "__main__":
    sys.exit(supervise(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
