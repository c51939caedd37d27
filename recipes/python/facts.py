"""Host facts of python: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact


def normalize(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class OsRelease(Fact):
    kind = "os-release"

    def command(self) -> Command:
        return cmd("cat", "/etc/os-release")

    def fresh(self) -> dict[str, str]:
        return {"ID": "debian", "VERSION_ID": "12", "VERSION_CODENAME": "bookworm",
                "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}

    def parse(self, out: str, status: int) -> dict[str, str]:
        values = {}
        for line in out.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip().strip('"')
        return values


class SystemPython(Fact):
    """The distribution's python3 version as "3.NN": the installed package's, else apt's candidate; None when
    neither is known (no python3 installed and no package lists yet).

    Why the packages and not `python3 --version`: the plan decides whether python3 itself must be installed
    (and whether a wanted version is the system one, or needs deadsnakes), so the answer cannot depend on
    python3 being there. dpkg-query and apt-cache are part of every Debian and Ubuntu system, so nothing has to
    be installed first: `requires()` stays empty, and a dry run always asks the server (a fresh() answer
    standing in for a planned install of python3 would be Debian 12's version on an Ubuntu server too).
    """

    kind = "system-python"
    root = False

    def command(self) -> Command:
        # apt-cache only when dpkg has no installed python3 (the common case needs no cache read); LC_ALL=C keeps
        # its "Candidate:" label untranslated
        return sh('dpkg-query -W -f "\\${db:Status-Abbrev}\\t\\${Version}\\n" "$1" 2>/dev/null | grep "^.i" || '
                  'apt-cache policy "$1" 2>/dev/null || true', "python3", env={"LC_ALL": "C"})

    def fresh(self) -> str:
        return "3.11"  # Debian 12, as OsRelease.fresh() says: what plan previews assume

    def parse(self, out: str, status: int) -> str | None:
        installed = candidate = None
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[0][1:2] == "i":  # dpkg-query: ii, hi (held); not rc (removed)
                installed = parts[1].strip()
            label, _sep, value = line.strip().partition(":")
            if label == "Candidate":
                candidate = value.strip()
        return _minor(installed) or _minor(candidate)


def _minor(version: str | None) -> str | None:
    """The "3.NN" of a Debian package version (3.11.2-1+b1, 3.12.3-0ubuntu2, 1:3.14.0-1); None for "(none)"."""
    found = re.match(r"(?:\d+:)?(\d+)\.(\d+)", version or "")
    return f"{found.group(1)}.{found.group(2)}" if found else None


@dataclass(frozen=True, eq=False)
class VenvPackages(Fact):
    """Distributions installed in a venv, from their .dist-info directories (no pip start-up: fast)."""

    venv: str

    kind = "venv-packages"

    def command(self) -> Command:
        return sh('for d in "$1"/lib/python3*/site-packages/*.dist-info; do [ -d "$d" ] && basename "$d"; done; true',
                  self.venv)

    def fresh(self) -> dict[str, str]:
        return {}

    def parse(self, out: str, status: int) -> dict[str, str]:
        found = {}
        for line in out.split():
            name, _, version = line.removesuffix(".dist-info").rpartition("-")
            found[normalize(name)] = version
        return found


@dataclass(frozen=True, eq=False)
class VenvPython(Fact):
    """The interpreter version a venv was made with (from pyvenv.cfg), or None without a venv."""

    venv: str

    kind = "venv-python"

    def command(self) -> Command:
        return sh('[ -x "$1/bin/python" ] && sed -n "s/^version *= *//p" "$1/pyvenv.cfg" || true', self.venv)

    def parse(self, out: str, status: int) -> str | None:
        value = out.strip()
        return ".".join(value.split(".")[:2]) if value else None
