"""Host facts of python: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recipes.shared.facts import PackageVersion
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
        return {"ID": "debian", "VERSION_ID": "13", "VERSION_CODENAME": "trixie",
                "PRETTY_NAME": "Debian GNU/Linux 13 (trixie)"}

    def parse(self, out: str, status: int) -> dict[str, str]:
        values = {}
        for line in out.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip().strip('"')
        return values


@dataclass(frozen=True, eq=False)
class SystemPython(PackageVersion):
    """The distribution's python3 version as "3.NN" (from its package: installed, else apt's candidate).

    Why the package and not `python3 --version`: the plan decides whether python3 itself must be installed
    (and whether a wanted version is the system one, or needs deadsnakes), so the answer cannot depend on
    python3 being there. `requires()` stays empty: a dry run always asks the server (a fresh() answer standing
    in for a planned install of python3 would be Debian's version on an Ubuntu server too).
    """

    package: str = "python3"

    kind = "system-python"

    def fresh(self) -> str:
        return "3.13"  # Debian 13, as OsRelease.fresh() says: what plan previews assume

    def parse(self, out: str, status: int) -> str | None:
        found = re.match(r"(?:\d+:)?(\d+)\.(\d+)", super().parse(out, status) or "")
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
    """The interpreter version a venv was made with (from pyvenv.cfg: `version` where python -m venv made it,
    `version_info` where uv did), or None without a venv."""

    venv: str

    kind = "venv-python"

    def command(self) -> Command:
        return sh('[ -x "$1/bin/python" ] && sed -n -E "s/^version(_info)? *= *//p" "$1/pyvenv.cfg" || true', self.venv)

    def parse(self, out: str, status: int) -> str | None:
        value = out.strip()
        return ".".join(value.split(".")[:2]) if value else None
