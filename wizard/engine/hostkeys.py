"""Host-key trust: which keys a host may present, and what to do with one we have never seen.

Why a store of our own beside ~/.ssh/known_hosts: keys the operator accepts in the wizard (trust on first
use) are recorded without touching OpenSSH's file, and `sandbox down` can forget the keys it added.
Both files are read; a key in either is trusted. A host that is known with *other* keys is a hard stop.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from platformdirs import user_config_path

from wizard.engine.errors import DeployWizardError
from wizard.engine.fsutil import atomic_write_text, private_dir


class HostKeyError(DeployWizardError):
    """The server's host key cannot be trusted; the message says why and what to do."""


class HostKeyChanged(HostKeyError):
    pass


class HostKeyUnknown(HostKeyError):
    pass


def fingerprint_of(key_line: str) -> str:
    """OpenSSH's SHA256 fingerprint ("SHA256:...", as `ssh-keygen -l` shows it) of a public key line.

    Why asyncssh computes it: the transport already trusts its key parsing, so the fingerprint a recipe pins
    and the one the transport compares come from the same code (imported on first use, as in trusted_keys).
    """
    import asyncssh

    return asyncssh.import_public_key(key_line).get_fingerprint("sha256")


def _is_ip_address(value: str) -> bool:
    """Whether `value` is an IPv4 or IPv6 address (not a host name), as asyncssh's known_hosts matching needs."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def host_pattern(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def config_dir() -> Path:
    """Where deploy-wizard's own known_hosts lives: the user's config directory for deploy-wizard.

    Why platformdirs: it knows each platform's place and the XDG rules (on Linux $XDG_CONFIG_HOME, else
    ~/.config, then deploy-wizard), so `sandbox down` and the operator find the same file.
    """
    return user_config_path("deploy-wizard", appauthor=False)


class HostKeyStore:
    """deploy-wizard's own known_hosts file, in OpenSSH format so `ssh -o UserKnownHostsFile=` can share it."""

    def __init__(self, path: Path | None = None, openssh_files: list[Path] | None = None) -> None:
        self.path = path or config_dir() / "known_hosts"
        if openssh_files is None:
            openssh_files = [Path(os.path.expanduser("~/.ssh/known_hosts"))]
        self.openssh_files = openssh_files

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def add(self, host: str, port: int, key_line: str) -> None:
        pattern = host_pattern(host, port)
        key = " ".join(key_line.split()[:2])
        lines = [ln for ln in self._lines() if ln.split(" ", 1)[0] != pattern or ln.split()[1:3] != key.split()]
        lines.append(f"{pattern} {key}")
        if self.path.parent == config_dir():  # our own directory; a recipe's folder is the operator's
            private_dir(self.path.parent)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, "\n".join(lines) + "\n", mode=0o600)

    def remove(self, host: str, port: int) -> None:
        pattern = host_pattern(host, port)
        lines = [ln for ln in self._lines() if ln.split(" ", 1)[0] != pattern]
        if self.path.exists():
            atomic_write_text(self.path, "\n".join(lines) + ("\n" if lines else ""), mode=0o600)

    def trusted_keys(self, host: str, addr: str | None, port: int) -> list[object]:
        """Every key either file trusts for this host (asyncssh SSHKey objects).

        `addr` is the IP address connected to, when known. Before connecting only the name is known, and
        callers pass it here too; asyncssh's matching parses `addr` as an IP address and raises ValueError on
        a name ('localhost'), so anything that is not an address is dropped: the name is matched as `host`.
        """
        import asyncssh

        addr = addr if addr and _is_ip_address(addr) else ""
        # by public data: a host given by its IP matches the same line as host and as address, and a key may
        # be in both files; one of each is enough
        keys: dict[bytes, object] = {}
        for path in [self.path, *self.openssh_files]:
            if not path.exists():
                continue
            try:
                known = asyncssh.read_known_hosts(str(path))
            except (ValueError, OSError):
                continue  # an unreadable OpenSSH file must not make every host untrusted
            keys.update((key.public_data, key) for key in known.match(host, addr, port)[0])
        return list(keys.values())
