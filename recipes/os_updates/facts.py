"""Host facts of os_updates: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recipes.shared.apt import MAN_DB_SWITCH, READ_MAN_DB_ANSWER
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


class AptListsAge(Fact):
    """Seconds since the package lists were last refreshed successfully (None = never, as far as we know).

    The stamp is the one apt's own periodic job writes; our os_updates step touches it too.
    """

    kind = "apt-lists-age"

    def command(self) -> Command:
        return sh('s=/var/lib/apt/periodic/update-success-stamp; '
                   'if [ -e "$s" ]; then echo $(( $(date +%s) - $(stat -c %Y "$s") )); else echo never; fi')

    def parse(self, out: str, status: int) -> int | None:
        value = out.strip()
        return int(value) if value.lstrip("-").isdigit() else None


# $@ the apt-get simulation. As nobody, apt reads its binary cache (/var/cache/apt/pkgcache.bin) when that is up to
# date, and builds the cache in memory when it is not, because nobody cannot save it: a dry run writes nothing
# either way. Every apt-get install leaves the cache up to date, so a re-apply reads it instead of parsing every
# package list again (about 3 s of a no-op on Debian 13 here, against 1 s).
SIMULATE = 'runuser -u nobody -- "$@" 2>/dev/null | awk "/^Inst /{print \\$2}"'


@dataclass(frozen=True, eq=False)
class Upgradable(Fact):
    """Packages an upgrade would change, per the current lists: apt-get's own simulation, which takes no lock
    and writes nothing (see SIMULATE: it runs as nobody, so apt cannot save its binary caches)."""

    mode: str = "upgrade"  # or "dist-upgrade"

    kind = "upgradable"

    def command(self) -> Command:
        return sh(SIMULATE, "apt-get", "-s", "-o", "Debug::NoLocking=1", self.mode,
                  display=f"apt-get -s {self.mode} | awk '/^Inst /{{print $2}}'")

    def fresh(self) -> list[str]:
        return []

    def parse(self, out: str, status: int) -> list[str]:
        return out.split()


class Timezone(Fact):
    kind = "timezone"

    def command(self) -> Command:
        return sh('readlink /etc/localtime || echo none; cat /etc/timezone 2>/dev/null || echo none')

    def fresh(self) -> dict[str, str | None]:
        return {"localtime": "Etc/UTC", "timezone_file": "Etc/UTC"}

    def parse(self, out: str, status: int) -> dict[str, str | None]:
        lines = out.splitlines() + ["none", "none"]
        link = re.sub(r"^.*?zoneinfo/", "", lines[0]) if lines[0] != "none" else None
        return {"localtime": link, "timezone_file": None if lines[1] == "none" else lines[1].strip()}


@dataclass(frozen=True, eq=False)
class ZoneExists(Fact):
    zone: str

    kind = "zone"

    def command(self) -> Command:
        return sh('[ -f "/usr/share/zoneinfo/$1" ] && echo yes || echo no', self.zone)

    def fresh(self) -> bool:
        return True

    def parse(self, out: str, status: int) -> bool:
        return out.strip() == "yes"


class Hostname(Fact):
    kind = "hostname"

    def command(self) -> Command:
        return sh("cat /etc/hostname 2>/dev/null; hostname")

    def fresh(self) -> dict[str, str]:
        return {"file": "debian", "running": "debian"}

    def parse(self, out: str, status: int) -> dict[str, str]:
        words = out.split()
        if len(words) == 1:  # /etc/hostname absent or empty: the one word is what `hostname` printed
            return {"file": "", "running": words[0]}
        words += ["", ""]
        return {"file": words[0], "running": words[1]}


class ManDbAutoUpdate(Fact):
    """Whether man-db rebuilds its index inside every package install: its debconf answer (read from debconf's
    own database file, without starting debconf's Perl) and the file its postinst makes from that answer, which
    is what its dpkg trigger actually looks at. `answer` is None while nobody has answered (man-db's default:
    on); `switch` is whether the trigger's file exists (only once man-db is installed)."""

    kind = "man-db-auto-update"

    def command(self) -> Command:
        return sh(f"{READ_MAN_DB_ANSWER}; echo; [ -e {MAN_DB_SWITCH} ] && echo on || echo off")

    def fresh(self) -> dict[str, str | bool | None]:
        return {"answer": None, "switch": False}  # a fresh Debian 13 image has no man-db

    def parse(self, out: str, status: int) -> dict[str, str | bool | None]:
        lines = [line.strip() for line in out.splitlines()]
        answer = next((line for line in lines[:-1] if line in ("true", "false")), None)
        return {"answer": answer, "switch": bool(lines) and lines[-1] == "on"}
