"""Scraping from a central Prometheus: the exporters opened to one address, through the firewall, and the scrape
config that Prometheus needs, written on the server for the operator to copy.

Why: a server cannot report its own death. When it is down, so is a Prometheus running on it, so a team with a
central Prometheus scrapes the exporters from there. Each exporter then listens on every address instead of
127.0.0.1, and ufw (whose default drops every other incoming connection) lets in that one address alone, per
exporter port. The scrape config names this server by the address it uses to reach the central Prometheus
(`ip route get`): on a private network the one that Prometheus reaches it by. Without the firewall step the
exporters would be open to everyone, so the plan refuses that.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from recipes.monitoring.exporters import BLACKBOX, Exporter
from recipes.monitoring.facts import CentralView
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PlanError, RunCommand, Warn, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

SCRAPE_FILE = "/etc/prometheus/central-scrape.yml"
_RULE = re.compile(r"^allow from (\S+) to any port ([0-9]+) proto tcp$")
_LOOPBACK = ("127.0.0.1", "[::1]")


def central_address(value: str) -> str:
    """One address (the firewall rule lets in exactly it): IPv4 or IPv6, not a network, not this server's own."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(_("'{v}' is not an IP address like 192.0.2.10 (one address: the central Prometheus's)")
                         .format(v=value)) from None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        raise ValueError(_("'{v}' cannot be a central Prometheus's address: it is this server itself or no "
                           "single machine").format(v=value))
    return str(address)


def port(listen: str) -> str:
    return listen.rsplit(":", 1)[1]


def opened(exporter: Exporter, central: str | None) -> Exporter:
    """The exporter as it listens: on every address when a central Prometheus scrapes it, else as it is."""
    host = exporter.listen.rsplit(":", 1)[0]
    if not central or host not in _LOOPBACK:
        return exporter
    everywhere = "[::]" if ":" in central else "0.0.0.0"  # noqa: S104  (the firewall lets in one address)
    env = tuple((name, everywhere if name == "HOST" else value) for name, value in exporter.env)
    return replace(exporter, listen=f"{everywhere}:{port(exporter.listen)}", env=env)


@dataclass(frozen=True)
class Central:
    """What the central Prometheus reaches: its address and the exporters (as opened)."""

    address: str
    exporters: tuple[Exporter, ...]

    def rules(self) -> list[str]:
        """One ufw rule per exporter port: from the central address only."""
        return [f"allow from {self.address} to any port {port(e.listen)} proto tcp" for e in self.exporters]

    def scrape_config(self, source: str, probes: dict[str, dict[str, str]]) -> str:
        here = f"[{source}]" if ":" in source else source
        # the blackbox exporter is scraped through its probes, not as a job of its own
        jobs = {e.job: f"{here}:{port(e.listen)}" for e in self.exporters if e.job != BLACKBOX.job}
        blackbox = next((f"{here}:{port(e.listen)}" for e in self.exporters if e.job == BLACKBOX.job), None)
        return render("central-scrape.yml.j2", jobs=jobs, probes=probes if blackbox else {}, blackbox=blackbox,
                      central=self.address)


def refuse_without_firewall(address: str | None, ctx: Context) -> None:
    """Exporters on every address with no firewall in front would be open to everyone: said at plan time."""
    if address and ctx.settings("firewall") is None:
        raise PlanError(_("central_prometheus opens the exporters to one address through the firewall, but this "
                          "recipe has no firewall step: without it they would be open to everyone. Turn the "
                          "firewall step on, or central_prometheus off."))


def plan(central: Central, facts: FactValues, ctx: Context, probes: dict[str, dict[str, str]],
         checked: bool) -> Iterator[Change | Ok | Warn]:
    """The firewall rules (and the removal of rules a former central address left), then the scrape config."""
    refuse_without_firewall(central.address, ctx)
    view = facts[CentralView(central.address)]
    added: set[str] = view["rules"]
    ports = {port(e.listen) for e in central.exporters}
    for rule in sorted(added):
        found = _RULE.match(rule)
        if found and found.group(2) in ports and found.group(1) != central.address:
            yield RunCommand(_("firewall: {rule} no more (the central Prometheus is {addr} now)").format(
                rule=rule, addr=central.address), cmd("ufw", "delete", *rule.split()),
                skip_if=sh('! ufw show added | grep -Fxq "ufw $1"', rule))
    for exporter, rule in zip(central.exporters, central.rules(), strict=True):
        if rule in added:
            continue
        yield RunCommand(_("firewall: let the central Prometheus at {addr} reach the {job} exporter (port {port})")
                         .format(addr=central.address, job=exporter.job, port=port(exporter.listen)),
                         cmd("ufw", *rule.split()), skip_if=sh('ufw show added | grep -Fxq "ufw $1"', rule))
    source = view["source"]
    if source is None:  # asked, and the server has no route there ("" in a preview: not asked yet)
        yield Warn(_("this server has no route to the central Prometheus at {addr}: the scrape config names it "
                     "SERVER_ADDRESS").format(addr=central.address),
                   _("replace SERVER_ADDRESS in {file} with the address the central Prometheus reaches this server "
                     "by").format(file=SCRAPE_FILE))
    yield from file_change(_("the scrape config for the central Prometheus at {addr} (`sudo cat {file}`)").format(
        addr=central.address, file=SCRAPE_FILE), SCRAPE_FILE,
        central.scrape_config(source or "SERVER_ADDRESS", probes), facts[FileInfo(SCRAPE_FILE)],
        check=cmd("promtool", "check", "config", SCRAPE_FILE) if checked else None)


__all__ = ["SCRAPE_FILE", "Central", "central_address", "opened", "plan", "refuse_without_firewall"]
