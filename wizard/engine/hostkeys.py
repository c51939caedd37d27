"""Host-key trust: which keys a host may present, and what to do with one we have never seen.

Why a store of our own beside ~/.ssh/known_hosts: keys the operator accepts in the wizard (trust on first
use) are recorded without touching OpenSSH's file, and `sandbox down` can forget the keys it added.
Both files are read; a key in either is trusted. A host that is known with *other* keys is a hard stop, and
a key either file marks `@revoked` is refused, pinned or not (OpenSSH's meaning). A line that is not an entry
is skipped, never the whole file, and a file that cannot be read is reported (`problems`), not taken as empty.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from wizard.engine.errors import DeployWizardError
from wizard.engine.fsutil import atomic_write_text, private_dir
from wizard.engine.i18n import _


class HostKeyError(DeployWizardError):
    """The server's host key cannot be trusted; the message says why and what to do."""


class HostKeyChanged(HostKeyError):
    pass


class HostKeyUnknown(HostKeyError):
    pass


class HostKeyRevoked(HostKeyError):
    pass


Entry = tuple[int, Any, bool]  # line number, the line as asyncssh's SSHKnownHosts, @revoked
PATTERN_CHARS = "*?|/!"  # as asyncssh: a line naming hosts with these is matched as a pattern, not looked up


@dataclass(frozen=True)
class ParsedFile:
    """A known_hosts file as read once: its entries, and an index of the lines that name hosts literally.

    Why an index: a fleet of 50 hosts connects 50 times, and matching every line of the files for every host
    (asyncssh parses the host for each line) cost each connection milliseconds per 50 lines: the controller's
    CPU per host grew with the number of hosts it knows. Only the lines a host could match are matched now:
    those naming it literally (host, address, ``[host]:port``), and every line with a pattern."""

    stamp: tuple[int, int, int]  # inode, mtime, size: a rewritten file is read again
    entries: list[Entry]
    by_name: dict[str, list[int]]  # a literal host name -> indexes into entries
    patterned: list[int]
    problems: list[str]

    def candidates(self, host: str, addr: str, port: int) -> list[Entry]:
        """The lines that may match this host, in file order."""
        names = {host, addr, f"[{host}]:{port}", f"[{addr}]:{port}" if addr else ""} - {""}
        found = set(self.patterned)
        for name in names:
            found.update(self.by_name.get(name, ()))
        return [self.entries[i] for i in sorted(found)]


# Shared by every store of this process (a fleet makes one per host), checked against the file's stamp each time.
_PARSED: dict[Path, ParsedFile] = {}


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
        self.problems: list[str] = []  # files that could not be read, lines that are not entries: for the operator

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
        _PARSED.pop(self.path, None)

    def remove(self, host: str, port: int) -> None:
        pattern = host_pattern(host, port)
        lines = [ln for ln in self._lines() if ln.split(" ", 1)[0] != pattern]
        if self.path.exists():
            atomic_write_text(self.path, "\n".join(lines) + ("\n" if lines else ""), mode=0o600)
        _PARSED.pop(self.path, None)

    def trusted_keys(self, host: str, addr: str | None, port: int) -> list[object]:
        """Every key the files trust for this host (asyncssh SSHKey objects), none that any of them revokes.

        `addr` is the IP address connected to, when known. Before connecting only the name is known, and
        callers pass it here too; asyncssh's matching parses `addr` as an IP address and raises ValueError on
        a name ('localhost'), so anything that is not an address is dropped: the name is matched as `host`.
        """
        records = self.known(host, addr, port)
        revoked = {record.fingerprint for record in records if record.revoked}
        # by fingerprint: a host given by its IP matches the same line as host and as address, and a key may be
        # in both files; one of each is enough
        keys = {record.fingerprint: record.key for record in records if record.fingerprint not in revoked}
        return list(keys.values())

    def known(self, host: str, addr: str | None, port: int) -> list[KnownKey]:
        """Every line of either file about this host (its keys, and keys marked @revoked), with where it is."""
        addr = addr if addr and _is_ip_address(addr) else ""
        found = []
        for path in [self.path, *self.openssh_files]:
            for number, entry, revoked in self._parsed(path).candidates(host, addr, port):
                keys = entry.match(host, addr, port)[0]
                if not keys:
                    continue
                by_name = bool(entry.match(host, "", port)[0])
                pattern = host_pattern(host if by_name or not addr else addr, port)
                found += [KnownKey(key, key.get_fingerprint("sha256"), path, number, pattern, revoked=revoked)
                          for key in keys]
        return found

    def _parsed(self, path: Path) -> ParsedFile:
        """A known_hosts file as read (``parse_file``), once per process while it is unchanged; a file that cannot be
        read is reported, not taken as empty without a word, and the lines skipped are reported by every store."""
        try:
            info = path.stat()
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            parsed = _PARSED.get(path)
            if parsed is None or parsed.stamp != stamp:
                parsed = _PARSED[path] = parse_file(path, path.read_text(encoding="utf-8", errors="replace"), stamp)
        except FileNotFoundError:
            return ParsedFile((0, 0, 0), [], {}, [], [])
        except OSError as exc:
            self._problem(_("cannot read {file} ({why}): no host key in it is trusted").format(
                file=path, why=exc.strerror or type(exc).__name__))
            return ParsedFile((0, 0, 0), [], {}, [], [])
        for problem in parsed.problems:
            self._problem(problem)
        return parsed

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


@dataclass(frozen=True)
class KnownKey:
    """One key a known_hosts file holds for a host: the operator is told which file and line, and how to remove
    it (`ssh-keygen -R PATTERN -f FILE`) when the server now presents another."""

    key: Any  # asyncssh SSHKey
    fingerprint: str
    file: Path
    line: int
    pattern: str  # how the line names the host: `host`, or `[host]:port` for another port than 22
    revoked: bool = False

    def removal(self) -> str:
        """The command that removes this host's keys from the file (hashed lines too), quoted for a shell."""
        return f"ssh-keygen -R {shlex.quote(self.pattern)} -f {shlex.quote(str(self.file))}"


def parse_file(path: Path, text: str, stamp: tuple[int, int, int]) -> ParsedFile:
    """The lines of a known_hosts file that parse, each as asyncssh reads it, with its number and whether it is
    @revoked; a line that does not parse is skipped (and reported in `problems`), never the whole file.

    Why a @revoked line is read without its marker: asyncssh drops the revocations it found for a port other
    than 22 when it looks again without the port (which it does whenever no trusted key matched), so a
    revocation is matched the way a trusted key is, and marked here."""
    entries: list[Entry] = []
    by_name: dict[str, list[int]] = {}
    patterned: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        marker, _space, rest = line.lstrip().partition(" ")
        revoked = marker == "@revoked"
        try:
            entry = _asyncssh().import_known_hosts((rest if revoked else line) + "\n")
        except (ValueError, _asyncssh().KeyImportError) as exc:
            why: str | None = str(exc)
        else:
            why = _line_problem(line)  # a key asyncssh cannot decode, it skips without a word
        if why is not None:
            problems.append(_("{file}, line {line}: not a known_hosts entry ({why}); that line is skipped").format(
                file=path, line=number, why=why))
            continue
        names = line.split()[1 if marker.startswith("@") else 0]
        if any(char in names for char in PATTERN_CHARS):
            patterned.append(len(entries))
        else:
            for name in names.split(","):
                by_name.setdefault(name, []).append(len(entries))
        entries.append((number, entry, revoked))
    return ParsedFile(stamp, entries, by_name, patterned, problems)


def _asyncssh() -> Any:
    import asyncssh

    return asyncssh


def _line_problem(line: str) -> str | None:
    """Why a known_hosts line cannot hold a key (asyncssh would skip a bad key without a word), or None."""
    fields = line.split()
    if fields and fields[0].startswith("@"):
        fields = fields[1:]
    if len(fields) < 3:
        return _("a line is the host names, the key type and the key")
    try:
        _asyncssh().import_public_key(f"{fields[1]} {fields[2]}")
    except (ValueError, _asyncssh().KeyImportError):
        return _("the key {type} does not decode").format(type=fields[1])
    return None
