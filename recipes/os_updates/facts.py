"""Host facts of os_updates: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


# The apt-get simulation ($mode: upgrade or dist-upgrade). As nobody, apt reads its binary cache
# (/var/cache/apt/pkgcache.bin) when that is up to date, and builds the cache in memory when it is not, because nobody
# cannot save it: a dry run writes nothing either way.
SIMULATE = 'runuser -u nobody -- apt-get -s -o Debug::NoLocking=1 "$mode" 2>/dev/null'

# What an upgrade's simulation reads, and so all that can change its answer: dpkg's database (installed versions,
# holds, foreign architectures, a run in progress), apt's own (automatic marks), the package lists, and /etc/apt
# (sources, pins, keys, configuration). Anything that installs, removes, holds, pins or refreshes writes one of these.
UPGRADE_INPUTS = ("/etc/apt", "/var/lib/apt/lists", "/var/lib/apt/extended_states", "/var/lib/dpkg/status",
                  "/var/lib/dpkg/arch", "/var/lib/dpkg/updates")
# Where an apply records those inputs as they were when the simulation found nothing to upgrade: root's, beside
# the maintenance flags, and trusted only while root's alone (the file and its folder root's, writable by no one else).
UPGRADE_RECORD = "/var/lib/deploy-wizard/apt"
SKIPPED = "# not simulated: nothing the simulation reads changed since an apply found nothing to upgrade"

# $1 the record folder, $2 the mode, $3 "record" to keep the answer (an apply) or "read" (plan, check: they write
# nothing), $4 the uid the record must belong to, then the inputs. The signature of the inputs is every path's
# size, inode, mtime and ctime (a rewrite or a rename changes the inode or ctime, which no one sets back), taken
# BEFORE the simulation, so a change during it makes the record stale, never wrong. Only a simulation that exited
# 0 and listed nothing is recorded; any other answer is simulated again on the next run.
SKIP_OR_SIMULATE = r"""
rec="$1"; mode="$2"; keep="$3"; owner="$4"; shift 4
umask 022
sig="$mode $(find -L "$@" -maxdepth 3 \( -name partial -o -name lock \) -prune -o \
  -printf '%p %s %i %T@ %C@\n' 2>/dev/null | LC_ALL=C sort | cksum)"
file="$rec/nothing-to-$mode"
trusted() {
  [ -d "$rec" ] && ! [ -L "$rec" ] &&
    [ -z "$(find "$rec" "$@" -maxdepth 0 \( ! -user "$owner" -o -perm /022 -o -type l \) -print 2>/dev/null)" ]
}
if [ -f "$file" ] && trusted "$file" && [ "$(cat "$file")" = "$sig" ]; then echo 'SKIPPED'; exit 0; fi
out=$(SIMULATOR); rc=$?
printf '%s\n' "$out" | awk '/^Inst /{print $2}'
if [ "$keep" = record ] && [ "$rc" -eq 0 ] && ! printf '%s\n' "$out" | grep -q '^Inst '; then
  mkdir -p -m 755 "$rec" 2>/dev/null && trusted && printf '%s\n' "$sig" > "$file.new" && mv -f "$file.new" "$file"
fi
exit 0
""".strip()


def skip_or_simulate(mode: str, simulator: str, *, record: bool, folder: str = UPGRADE_RECORD,
                     inputs: tuple[str, ...] = UPGRADE_INPUTS, owner: int = 0) -> Command:
    """The upgrade's simulation, skipped when nothing it reads changed since one found nothing to upgrade.

    Why: the simulation is the slowest fact of a no-op (a second alone; minutes on fifty servers sharing two
    cores), and its answer is a function of its inputs alone: the same inputs, the same empty answer. The record
    is written only by an apply (`record`), after its own simulation: plan and check read it and write nothing.
    `simulator` is the shell line that prints apt-get's simulation of "$mode" (tests give their own, with their
    own folder, inputs and owner)."""
    script = SKIP_OR_SIMULATE.replace("SIMULATOR", simulator).replace("SKIPPED", SKIPPED)
    return sh(script, folder, mode, "record" if record else "read", str(owner), *inputs,
              display=f"apt-get -s {mode} | awk '/^Inst /{{print $2}}'")


def simulated(upgrade: str) -> str:
    """The apt-get mode whose simulation answers for an `upgrade` setting (full-upgrade is dist-upgrade there)."""
    return "dist-upgrade" if upgrade == "full-upgrade" else "upgrade"


@dataclass(frozen=True, eq=False)
class Upgradable(Fact):
    """Packages an upgrade would change, per the current lists: apt-get's own simulation, which takes no lock
    and writes nothing (it runs as nobody, so apt cannot save its binary caches), skipped while nothing it reads
    changed since an apply's simulation found nothing (skip_or_simulate). `record`: an apply keeps that answer
    (how the question is asked, not what: the key leaves it out)."""

    mode: str = "upgrade"  # or "dist-upgrade"
    record: bool = field(default=False, compare=False)

    kind = "upgradable"

    def command(self) -> Command:
        return skip_or_simulate(self.mode, SIMULATE, record=self.record)

    def fresh(self) -> list[str]:
        return []

    def parse(self, out: str, status: int) -> list[str]:
        return [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("#")]


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
