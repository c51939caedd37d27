"""apt commands that wait for the dpkg lock instead of failing on a fresh cloud server.

Why: on first boot, unattended-upgrades or cloud-init often holds the dpkg lock for minutes; apt then
fails with "Could not get lock". We wait, printing who holds it every 10 seconds, so the operator sees
why nothing moves. Lock holders are found by the lock itself (fdinfo of processes with a lock file open),
not by process names, and without tools a minimal server may lack (fuser, lsof).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from recipes.shared import guards
from recipes.shared.facts import UnitProperties
from wizard.engine.behind import PACKAGE_LOCK_ENV
from wizard.engine.commands import Command, cmd, noted
from wizard.engine.facts import Fact, PackagesInstalled
from wizard.engine.i18n import translator
from wizard.engine.step import RunCommand

_ = translator(__file__)

Leaves = tuple[tuple[Fact, Any], ...]

LOCK_FILES = "/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock"

WAIT_FOR_LOCK = r"""
holder() {
  for fd in $(find /proc/[0-9]*/fd -maxdepth 1 \( -lname /var/lib/dpkg/lock-frontend -o -lname /var/lib/dpkg/lock \
      -o -lname /var/lib/apt/lists/lock -o -lname /var/cache/apt/archives/lock \) 2>/dev/null); do
    pid=${fd#/proc/}; pid=${pid%%/*}
    if grep -q '^lock:' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null; then echo "$pid"; return 0; fi
  done
  return 1
}
waited=0
while pid=$(holder); do
  if [ $((waited % 10)) -eq 0 ]; then
    name=$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')
    echo "deploy-wizard: waiting for the package manager lock, held by $name (PID $pid), ${waited} s so far"
  fi
  if [ "$waited" -ge "$DW_LOCK_TIMEOUT" ]; then
    echo "deploy-wizard: gave up after ${waited} s: the dpkg lock is still held by PID $pid" >&2; exit 75
  fi
  sleep 1; waited=$((waited + 1))
done
""".strip()

# dpkg keeps a journal of a run in progress (/var/lib/dpkg/updates) and `dpkg --audit` lists packages left
# half-unpacked or half-configured: both mean an install was cut off (a dropped connection, a reboot, a kill),
# and apt then refuses every install until `dpkg --configure -a` finishes it. Done first, and said.
FINISH_INTERRUPTED = r"""
if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
  echo "deploy-wizard: an earlier package install was interrupted; finishing it first (dpkg --configure -a)"
  dpkg --force-confdef --force-confold --configure -a
fi
""".strip()

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a", "LC_ALL": "C"}


APT_GET = ('apt-get -y -q -o DPkg::Lock::Timeout=120 '
           '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"')
UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"


def apt_get(*args: str, lock_timeout: int = 600) -> Command:
    """`apt-get -y -q ARGS` after waiting for the lock; keeps existing config files on upgrades."""
    return cmd("sh", "-c", f"{WAIT_FOR_LOCK}\n{FINISH_INTERRUPTED}\nexec {APT_GET}", "sh", *args,
               env={**APT_ENV, PACKAGE_LOCK_ENV: str(lock_timeout)},
               display=noted(f"apt-get -y {shlex.join(args)}", _("after waiting for the dpkg lock")))


FETCH_DIRS = "/var/cache/apt/deploy-wizard-fetch."
# Debug::NoLocking: a download needs none of dpkg's locks, but apt-get takes them all unless told not to, and the
# install before it holds them. What it reads unlocked (the lists, dpkg's status) can at worst be read half-way
# through that install's change: then it fetches a package too many or too few, and the install itself fetches
# what is missing; the empty cache paths keep it from writing apt's binary caches beside that install.
# The packages land in a fresh folder of its own (mktemp: a name no one else chose, under /var/cache/apt where
# only root writes; 0755 so apt's unprivileged downloader can reach its partial/), which starts with links to the
# packages apt already holds (so a dependency an earlier download fetched is not fetched again). apt checks each
# file's hash as it downloads it, before it leaves partial/; the install then takes a file it finds in
# /var/cache/apt/archives by its name and size, as it takes what an earlier install left there. A folder left by
# a killed run is removed by the next download, a day later.
FETCH = (f'find /var/cache/apt -maxdepth 1 -name "{FETCH_DIRS.rsplit("/", 1)[1]}*" -mmin +1440 '
         '-exec rm -rf {} + 2>/dev/null\n'
         f'd=$(mktemp -d {FETCH_DIRS}XXXXXX) || exit 1\n'
         'trap \'rm -rf "$d"\' EXIT; trap "exit 1" HUP INT TERM\n'
         'chmod 0755 "$d" && mkdir "$d/partial" || exit 1\n'
         'find /var/cache/apt/archives -maxdepth 1 -type f -name "*.deb" -exec ln -f -t "$d" {} + 2>/dev/null\n'
         'apt-get -y -q --download-only -o Debug::NoLocking=1 -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= '
         '-o Dir::Cache::Archives="$d" "$@" || exit\n'
         'find "$d" -maxdepth 1 -type f -name "*.deb" -links 1 -exec mv -f -t /var/cache/apt/archives/ {} +')


def apt_fetch(*args: str) -> Command:
    """The download of what `apt-get -y ARGS` would install, alone: it may run while another install holds
    dpkg's lock (wizard.engine.behind runs it ahead of its install)."""
    return cmd("sh", "-c", FETCH, "sh", *args, env=APT_ENV,
               display=noted(f"apt-get -y --download-only {shlex.join(args)}",
                             _("without apt's locks, into a folder of its own, then moved to /var/cache/apt/archives")))


def install_missing(packages: Sequence[str], installed: Mapping[str, str | None], *, recommends: bool = True,
                    lock_timeout: int = 600, brings: Leaves = (), early: bool = False) -> RunCommand | None:
    """One `apt-get install` of all the packages when any is missing, or None when all are installed.

    Why all of them: an earlier step may have pulled some in as dependencies (nginx brings logrotate), which
    only apt knows. Naming every package keeps the command the same whether or not that happened, so a dry
    run on a fresh server shows exactly the command apply runs; apt skips what is installed, and marks it as
    wanted by hand, so autoremove never takes it. `brings` is what the packages set up by themselves (Debian
    starts a package's services when it installs them): the facts a dry run's later passes plan from.

    `early`: the step allows this install to run behind the steps before it (wizard.engine.behind); only when
    nothing the packages start is reachable from outside before the step configures it.
    """
    missing = [p for p in packages if installed.get(p) is None]
    if not missing:
        return None
    args = ["install", *([] if recommends else ["--no-install-recommends"]), *packages]
    return RunCommand(_("install {names}").format(names=", ".join(packages)),
                      apt_get(*args, lock_timeout=lock_timeout), skip_if=guards.packages_installed(packages),
                      early=early, fetch=apt_fetch(*args) if early else None,
                      leaves=(*((PackagesInstalled((name,)), {name: "(planned)"}) for name in missing), *brings))


def started(*units: str) -> Leaves:
    """What Debian does with a package's services when it installs them: enables and starts them."""
    return tuple((UnitProperties(unit), {"ActiveState": "active", "UnitFileState": "enabled", "LoadState": "loaded",
                                         "NeedDaemonReload": "no"}) for unit in units)


def apt_update(lock_timeout: int = 600) -> Command:
    """Refresh the lists and record when (the stamp apt's own periodic job uses), for the cache window."""
    script = f"{WAIT_FOR_LOCK}\n{APT_GET} && mkdir -p {UPDATE_STAMP.rsplit('/', 1)[0]} && touch {UPDATE_STAMP}"
    return cmd("sh", "-c", script, "sh", "update", env={**APT_ENV, PACKAGE_LOCK_ENV: str(lock_timeout)},
               display=noted(f"apt-get update && touch {UPDATE_STAMP}", _("after waiting for the dpkg lock")))


MAN_DB_SWITCH = "/var/lib/man-db/auto-update"
# man-db's debconf answer (true/false, nothing while unanswered), read from debconf's own database file: no Perl
READ_MAN_DB_ANSWER = ("awk '/^Name: man-db\\/auto-update$/{f=1} f && /^Value:/{print $2; exit} /^$/{f=0}' "
                      "/var/cache/debconf/config.dat 2>/dev/null")


def man_db_auto_update(on: bool, lock_timeout: int = 600) -> Command:
    """Give man-db's debconf question its answer, and make the file its trigger reads agree at once.

    Why: with it on (Debian's default), every dpkg run that brings a manual page ends in man-db's trigger
    rebuilding the whole apropos/whatis index, seconds each time, a whole first apply long. Off, the index is
    still rebuilt, by man-db's own daily timer at idle priority. The debconf answer is what man-db's postinst
    reads (also when man-db is installed later, or upgraded); the file is the cache of it that its trigger
    reads. After the dpkg lock: debconf's database is locked while a package is being configured.
    """
    value = "true" if on else "false"
    then = (f"if [ -d {MAN_DB_SWITCH.rsplit('/', 1)[0]} ]; then touch {MAN_DB_SWITCH}; fi" if on
            else f"rm -f {MAN_DB_SWITCH}")
    shown = f"echo 'man-db man-db/auto-update boolean {value}' | debconf-set-selections && {then}"
    script = f"{WAIT_FOR_LOCK}\necho \"man-db man-db/auto-update boolean $1\" | debconf-set-selections && {then}"
    return cmd("sh", "-c", script, "sh", value, env={**APT_ENV, PACKAGE_LOCK_ENV: str(lock_timeout)},
               display=noted(shown, _("after waiting for the dpkg lock")))
