"""Step os_updates: a patched, correctly named and timed base system before anything else is installed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import Field

from recipes.os_updates import meanings
from recipes.os_updates.facts import (
    AptListsAge,
    Hostname,
    ManDbAutoUpdate,
    Timezone,
    Upgradable,
    ZoneExists,
    simulated,
)
from recipes.shared import claims
from recipes.shared.apt import (
    MAN_DB_SWITCH,
    READ_MAN_DB_ANSWER,
    UPDATE_STAMP,
    apt_get,
    apt_update,
    install_missing,
    man_db_auto_update,
)
from wizard.engine.commands import sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Later,
    Ok,
    PlanError,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    file_change,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import HostName, PackageName, TimeZone

_ = translator(__file__)
n_ = plural_translator(__file__)
render = renderer(__file__)

AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
BASE_TOOLS = ["curl", "git", "ca-certificates"]


class OsUpdatesSettings(StepSettings):
    lists_max_age: int = Field(3600, ge=0, le=7 * 86400, description=(
        "Refresh the package lists when they are older than this many seconds (0 = always)."))
    upgrade: Literal["none", "upgrade", "full-upgrade"] = Field("upgrade", description=(
        "'upgrade' installs newer versions without removing anything; 'full-upgrade' may add or remove "
        "packages to resolve changed dependencies; 'none' leaves installed packages alone."))
    packages: list[PackageName] = Field(default_factory=lambda: list(BASE_TOOLS), description=(
        "Basic tools to install on every server."))
    unattended_upgrades: bool = Field(False, description="Install security updates automatically every day.")
    timezone: TimeZone | None = Field(None, description="Time zone, e.g. Europe/Berlin; empty keeps the current one.")
    hostname: HostName | None = Field(None, description="Host name of the server; empty keeps the current one.")
    man_db_auto_update: bool = Field(False, description=(
        "Let man-db rebuild its manual page index (apropos, whatis) inside every package install, as Debian does "
        "by default. Off (the default here): man-db's own daily timer rebuilds it instead, and each package "
        "install skips seconds of trigger work."))
    lock_timeout: int = Field(900, ge=0, le=7200, description=(
        "Seconds to wait for another package manager (e.g. unattended-upgrades on first boot) to finish."))


class OsUpdates(Step):
    name = "os_updates"
    order = 100
    title = "OS updates"
    Settings = OsUpdatesSettings
    teaching = Teaching(
        why="A fresh server image is weeks or months old. Refreshing the package lists and installing pending "
            "updates closes known security holes before the server is exposed, and every later step then "
            "installs current packages. Setting the host name and time zone now makes logs and certificates "
            "readable later.",
        verify=[Check("apt-get update", root=True,
                      note="the network check: Hit: and Get: lines mean the server reaches its package mirrors; "
                           "'Could not resolve' or 'Failed to fetch' mean it cannot"),
                Check("apt list --upgradable", note="what still has an update: nothing, right after the step"),
                Check("cat /etc/os-release"), Check("readlink /etc/localtime", note="the time zone"),
                Check("hostname"),
                Check(f"cat {AUTO_UPGRADES}", when={"unattended_upgrades": True})],
        troubleshoot=[
            ("Could not get lock /var/lib/dpkg/lock-frontend",
             "Another package manager runs (often unattended-upgrades right after first boot). The wizard waits "
             "for it; if it never ends, look at it with `ps aux | grep -E 'apt|dpkg'`."),
            ("dpkg was interrupted, you must manually run 'dpkg --configure -a'",
             "A previous install was cut off. Run `sudo dpkg --configure -a`, then apply again."),
            ("Temporary failure resolving 'deb.debian.org'",
             "The server has no working DNS or no route out. Check /etc/resolv.conf and `ping -c1 deb.debian.org`."),
            ("apropos: nothing appropriate (for a package installed today)",
             "man-db's index is rebuilt by its daily timer, not inside every package install "
             "(man_db_auto_update: false, which makes each install seconds faster). `sudo mandb` rebuilds it now; "
             "`man PAGE` works either way."),
            ("E: Unable to locate package",
             "apt knows no package by that name. The lists are stale or missing (`sudo apt-get update`, the network "
             "check under Verify), the name is misspelt or differs on this release (`apt-cache search WORD`), or "
             "the package is in a component this server does not use (Ubuntu's universe: `sudo "
             "add-apt-repository universe`)."),
        ],
        goal="The server's packages are current, security updates install themselves, and its clock and name are set.",
        section="2.1 Operating system installation and configuration",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """Updated, the tools there, automatic security updates on, the clock and the name set: by `apt upgrade`,
        `dpkg-reconfigure unattended-upgrades` or `hostnamectl` alike (recipes/os_updates/meanings.py)."""
        assert isinstance(settings, OsUpdatesSettings)
        return meanings.of(settings, self._packages(settings), AUTO_UPGRADES)

    def _packages(self, s: OsUpdatesSettings) -> tuple[str, ...]:
        wanted = list(dict.fromkeys(s.packages + (["unattended-upgrades"] if s.unattended_upgrades else [])))
        return tuple(wanted)

    @staticmethod
    def _stale(s: OsUpdatesSettings, age: int | None) -> bool:
        return age is None or age > s.lists_max_age

    @staticmethod
    def _upgradable(s: OsUpdatesSettings, *, record: bool) -> Upgradable:
        return Upgradable(simulated(s.upgrade), record=record)

    def refresh(self, settings: StepSettings, ctx: Context) -> Iterable[Fact]:
        """The later steps' installs change dpkg's database, so the record of this step's simulation no longer
        matches: simulated and recorded again as the apply ends, the first re-apply skips it like every later one."""
        assert isinstance(settings, OsUpdatesSettings)
        return [self._upgradable(settings, record=True)] if settings.upgrade != "none" else []

    def facts(self, settings: OsUpdatesSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        s = settings
        yield ManDbAutoUpdate()
        yield AptListsAge()
        # the updates once the lists are known to be fresh: stale lists are refreshed first, and only then can the
        # simulation tell what to upgrade (on a fresh server it is the slowest fact: apt builds its cache, 1.5 s)
        if s.upgrade != "none" and AptListsAge() in known and not self._stale(s, known[AptListsAge()]):
            yield self._upgradable(s, record=ctx.applying)  # an apply records an empty answer: the next one skips it
        if self._packages(s):
            yield PackagesInstalled(self._packages(s))
        if s.unattended_upgrades:
            yield FileInfo(AUTO_UPGRADES)
        if s.timezone:
            yield Timezone()
            yield ZoneExists(s.timezone)
        if s.hostname:
            yield Hostname()
            yield FileInfo("/etc/hosts")
        if s.hostname or s.timezone:
            yield from claims.claim_facts(self.name, ctx)

    def plan(self, settings: OsUpdatesSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        s = settings
        yield from self._plan_man_db(s, facts)
        yield from self._plan_lists(s, facts, ctx)
        packages = self._packages(s)
        if packages:
            install = install_missing(packages, facts[PackagesInstalled(packages)], recommends=False,
                                      lock_timeout=s.lock_timeout)
            if install:
                yield install
            else:
                yield Ok(_("packages installed: {names}").format(names=", ".join(packages)))

        if s.unattended_upgrades:
            yield from file_change(_("turn on daily automatic security updates"), AUTO_UPGRADES,
                                   render("20auto-upgrades.j2"), facts[FileInfo(AUTO_UPGRADES)])

        if s.hostname or s.timezone:  # one server, one name and one clock: never a silent last-wins
            theirs = claims.others(facts, self.name, ctx)
            claims.same_or_conflict("hostname", s.hostname, theirs, "os_updates.hostname")
            claims.same_or_conflict("timezone", s.timezone, theirs, "os_updates.timezone")
            yield from claims.record(self.name, ctx, {"hostname": s.hostname, "timezone": s.timezone}, facts)

        if s.timezone:
            if not facts[ZoneExists(s.timezone)]:
                raise PlanError(_("time zone '{tz}' does not exist on the server (see /usr/share/zoneinfo)").format(
                    tz=s.timezone))
            current = facts[Timezone()]
            file_ok = current["timezone_file"] in (None, s.timezone)
            if current["localtime"] != s.timezone or not file_ok:
                yield RunCommand(
                    _("set the time zone to {tz} (now {now})").format(tz=s.timezone, now=current["localtime"]),
                    sh('ln -sfn "/usr/share/zoneinfo/$1" /etc/localtime && '
                       'if [ -e /etc/timezone ]; then echo "$1" > /etc/timezone; fi', s.timezone),
                    skip_if=sh('case "$(readlink /etc/localtime)" in */zoneinfo/"$1") ;; *) exit 1;; esac; '
                               '! [ -e /etc/timezone ] || [ "$(cat /etc/timezone)" = "$1" ]', s.timezone))
            else:
                yield Ok(_("time zone is {tz}").format(tz=s.timezone))

        if s.hostname:
            yield from self._plan_hostname(s.hostname, facts)

    def _plan_man_db(self, s: OsUpdatesSettings, facts: FactValues) -> Iterator[Change | Ok]:
        """Before any package work: man-db's index rebuilt in every dpkg run, or by its daily timer only."""
        state = facts[ManDbAutoUpdate()]
        on = s.man_db_auto_update
        if (state["answer"] != "false") if on else (state["answer"] == "false" and not state["switch"]):
            yield Ok(_("man-db rebuilds its index in package installs") if on
                     else _("man-db's index is rebuilt by its daily timer, not in package installs"))
            return
        value = "true" if on else "false"
        yield RunCommand(
            _("let man-db rebuild its index in every package install") if on else
            _("rebuild man-db's index daily, not in every package install (seconds saved in each one)"),
            man_db_auto_update(on, s.lock_timeout),
            skip_if=sh(READ_MAN_DB_ANSWER + ' | grep -qx "$1" && { [ "$1" = true ] || ! [ -e "$2" ]; }', value,
                       MAN_DB_SWITCH),
            leaves=((ManDbAutoUpdate(), {"answer": value, "switch": False}),))

    def _plan_lists(self, s: OsUpdatesSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        """Fresh package lists, then the updates they show (known only once they are fresh)."""
        age = facts[AptListsAge()]
        stale = self._stale(s, age)
        if stale:
            when = _("never refreshed") if age is None else n_("{m} minute old", "{m} minutes old", age // 60).format(
                m=age // 60)
            yield RunCommand(
                _("package lists are {when}; refresh them so installs and upgrades see current versions").format(
                    when=when),
                apt_update(s.lock_timeout), skip_if=sh(
                    's="$2"; [ -e "$s" ] && [ $(( $(date +%s) - $(stat -c %Y "$s") )) -le "$1" ]',
                    str(s.lists_max_age), UPDATE_STAMP), leaves=((AptListsAge(), 0),))
        else:
            yield Ok(n_("package lists refreshed {m} minute ago", "package lists refreshed {m} minutes ago",
                        age // 60).format(m=age // 60))

        if s.upgrade != "none":
            pending = [] if stale else facts[self._upgradable(s, record=False)]
            if pending:
                shown = ", ".join(pending[:8]) + (" …" if len(pending) > 8 else "")
                yield self._upgrade(s, n_("{n} package has an update: {names}", "{n} packages have updates: {names}",
                                          len(pending)).format(n=len(pending), names=shown))
            elif stale and s.upgrade == "upgrade" and not ctx.step_through:
                # Only the refreshed lists can tell what has an update. `upgrade` removes nothing, so it runs right
                # after the refresh (apt names each package as it installs it) instead of a pass later, which
                # would simulate it first: on a fresh server that pass is seconds in which nothing else runs.
                yield self._upgrade(s, _("install the updates the refreshed lists show (to see them first: "
                                         "`apt list --upgradable`)"))
            elif stale:  # listed by the next pass before they run: full-upgrade may remove packages, and an
                # operator stepping through decides on each update knowing it
                yield Later(_("install the package updates"),
                            _("they are listed once the package lists are refreshed"))
            else:
                yield Ok(_("no package updates pending"))

    @staticmethod
    def _upgrade(s: OsUpdatesSettings, why: str) -> RunCommand:
        return RunCommand(why, apt_get(s.upgrade, lock_timeout=s.lock_timeout), skip_if=sh(
            '! apt-get -s -o Debug::NoLocking=1 "$1" 2>/dev/null | grep -q "^Inst "', simulated(s.upgrade)))

    def _plan_hostname(self, name: str, facts: FactValues) -> Iterator[Change | Ok]:
        current = facts[Hostname()]
        hosts = facts[FileInfo("/etc/hosts")]
        hosts_text = hosts.text() if hosts else ""
        short = name.split(".")[0]
        wanted_line = f"127.0.1.1\t{name}" + (f" {short}" if short != name else "")
        lines = (hosts_text or "").splitlines()
        if wanted_line not in lines:
            # First, so sudo resolves the new name the moment it is set ("unable to resolve host" otherwise).
            # Keep every other line; replace the Debian 127.0.1.1 alias line, so sudo and mail resolve the name.
            new = [ln for ln in lines if not ln.startswith("127.0.1.1")]
            new.insert(1 if new else 0, wanted_line)
            yield from file_change(_("map the host name to 127.0.1.1 in /etc/hosts"), "/etc/hosts",
                                   "\n".join(new) + "\n", hosts)
        if current["file"] != name or current["running"] != name:
            yield RunCommand(_("set the host name to {name} (now {now})").format(name=name, now=current["running"]),
                             sh('echo "$1" > /etc/hostname && hostname "$1"', name),
                             skip_if=sh('[ "$(cat /etc/hostname)" = "$1" ] && [ "$(hostname)" = "$1" ]', name))
        if wanted_line in lines and current["file"] == name and current["running"] == name:
            yield Ok(_("host name is {name}").format(name=name))
