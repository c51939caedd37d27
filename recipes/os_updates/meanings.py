"""What must hold for the os_updates step, however it was reached (wizard.engine.meaning).

Why each meaning covers only its own changes: a server updated with `apt upgrade` by hand but with another
time zone is missing the time zone, not the updates. deploy-wizard's own notes about the server
(/etc/deploy-wizard/claims) are bookkeeping: on a server set up by hand they only differ.
"""

from __future__ import annotations

from typing import Protocol

from recipes.os_updates.facts import Hostname, Timezone, Upgradable, simulated
from recipes.shared.meanings import Probe
from wizard.engine.facts import FactValues, PackagesInstalled
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.meaning import Meaning, covering

_ = translator(__file__)
n_ = plural_translator(__file__)


class Wanted(Protocol):
    upgrade: str
    unattended_upgrades: bool
    timezone: str | None
    hostname: str | None


def _updates(mode: str) -> Meaning:
    pending = Upgradable(mode)

    def test(facts: FactValues) -> str | None:
        count = len(facts[pending])
        if not count:
            return None
        return n_("{n} package has an update waiting: `apt list --upgradable`",
                  "{n} packages have updates waiting: `apt list --upgradable`", count).format(n=count)

    return Meaning(_("no package updates are waiting"), (pending,), test, covers=covering("apt-get"))


def _installed(packages: tuple[str, ...]) -> Meaning:
    fact = PackagesInstalled(packages)

    def test(facts: FactValues) -> str | None:
        missing = [name for name, version in facts[fact].items() if version is None]
        return _("not installed: {names}").format(names=", ".join(missing)) if missing else None

    return Meaning(_("installed: {names}").format(names=", ".join(packages)), (fact,), test,
                   covers=covering("apt-get"))


def _unattended(path: str) -> Meaning:
    probe = Probe("apt-config dump APT::Periodic::Unattended-Upgrade | grep -q '\"1\"'")

    def test(facts: FactValues) -> str | None:
        return None if facts[probe].ok else _("APT::Periodic::Unattended-Upgrade is not \"1\": nothing installs "
                                              "security updates by itself")

    return Meaning(_("automatic security updates are on"), (probe,), test, covers=covering(path))


def _timezone(zone: str) -> Meaning:
    def test(facts: FactValues) -> str | None:
        now = facts[Timezone()]["localtime"]
        return None if now == zone else _("the time zone is {now}").format(now=now)

    return Meaning(_("the time zone is {tz}").format(tz=zone), (Timezone(),), test, covers=covering("/etc/localtime"))


def _hostname(name: str) -> Meaning:
    def test(facts: FactValues) -> str | None:
        now = facts[Hostname()]["running"]
        return None if now == name else _("the host name is {now}").format(now=now)

    return Meaning(_("the host name is {name}").format(name=name), (Hostname(),), test, covers=covering("/etc/host"))


def of(s: Wanted, packages: tuple[str, ...], auto_upgrades: str) -> list[Meaning]:
    found = [Meaning(_("deploy-wizard's own notes about this server (/etc/deploy-wizard): bookkeeping"), (),
                     lambda facts: None, covers=covering("/etc/deploy-wizard/"))]
    if s.upgrade != "none":
        found.append(_updates(simulated(s.upgrade)))
    if packages:
        found.append(_installed(packages))
    if s.unattended_upgrades:
        found.append(_unattended(auto_upgrades))
    if s.timezone:
        found.append(_timezone(s.timezone))
    if s.hostname:
        found.append(_hostname(s.hostname))
    return found


__all__ = ["of"]
