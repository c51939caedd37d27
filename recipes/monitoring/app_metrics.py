"""The app's own metrics (request rate, error ratio, response times) and the alerts read from them.

Why from nginx's access log and not from the app: every request passes nginx, which times it (rt=, the site's
log_format), whatever framework the app uses; mtail (Debian's package) turns each line into a counter by app
and status and a response-time histogram. The blackbox exporter asks the health URL the way a visitor's browser
does (the site's name as Host, its certificate over TLS), so "the site is down" and "the certificate expires" are
measured from outside the app. Prometheus evaluates the alert rules every scrape; a server cannot report its own
death, so a team with a central Prometheus should scrape these exporters from there (the runbook says how).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from recipes.monitoring.exporters import BLACKBOX_CONFIG, MTAIL_PROGRAM
from recipes.shared.claims import Claim
from recipes.shared.web import site
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PutFile, RunCommand, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

RULES = "/etc/prometheus/deploy-wizard-rules.yml"
Probe = dict[str, str]  # host, scheme, url


def probe(ctx: Context, health_path: str) -> Probe | None:
    """What the blackbox exporter asks for this app: its health path on this server, with the site's name."""
    web = site(ctx)
    if web is None:
        return None
    owner, nginx = web
    tls = ctx.settings("tls")
    scheme = "https" if tls is not None else "http"
    host = getattr(tls, "domain", None) or owner.server_names(nginx)[0]
    port = "" if scheme == "https" or owner.http_port(nginx) == 80 else f":{owner.http_port(nginx)}"
    return {"host": host, "scheme": scheme, "url": f"{scheme}://127.0.0.1{port}{health_path}"}


def probes(mine: Claim, theirs: Mapping[str, Claim], app: str) -> dict[str, Probe]:
    """Every app's probe on this server (one blackbox exporter and one Prometheus serve them all)."""
    found = {name: claim["probe"] for name, claim in theirs.items() if isinstance(claim.get("probe"), dict)}
    if isinstance(mine.get("probe"), dict):
        found[app] = mine["probe"]  # type: ignore[assignment]
    return dict(sorted(found.items()))


def facts(app_metrics: bool, prometheus: bool) -> Iterator[Fact]:
    if app_metrics:
        yield FileInfo(MTAIL_PROGRAM)
        yield FileInfo(BLACKBOX_CONFIG)
    if prometheus:
        yield FileInfo(RULES)


def prerequisites(found: dict[str, Probe], facts: FactValues) -> Iterator[Change | Ok]:
    """mtail's program and the blackbox exporter's modules, each checked by its own tool before it is used, and
    the exporter restarted when its file changed."""
    program = list(file_change(_("mtail counts every app's requests and times them from nginx's access log"),
                               MTAIL_PROGRAM, render("nginx.mtail.j2"), facts[FileInfo(MTAIL_PROGRAM)],
                               check=cmd("mtail", "--compile_only", "--progs", "/etc/mtail")))
    yield from _restarted(program, "mtail")
    modules = list(file_change(_("the blackbox exporter asks each app's health URL with the site's name"),
                               BLACKBOX_CONFIG, render("blackbox.yml.j2", probes=found),
                               facts[FileInfo(BLACKBOX_CONFIG)],
                               check=cmd("prometheus-blackbox-exporter", "--config.check",
                                         f"--config.file={BLACKBOX_CONFIG}")))
    yield from _restarted(modules, "prometheus-blackbox-exporter")


def rules(facts: FactValues) -> Iterator[Change | Ok]:
    """The alert rules, checked with promtool; Prometheus is restarted by the step when they change."""
    yield from file_change(_("alert rules: site down, 5xx rate, p95 latency, disk, memory, certificate expiry"),
                           RULES, render("rules.yml.j2"), facts[FileInfo(RULES)],
                           check=cmd("promtool", "check", "rules", RULES))


def _restarted(changes: list[Change | Ok], service: str) -> Iterator[Change | Ok]:
    yield from changes
    if any(isinstance(change, PutFile) for change in changes):
        yield RunCommand(_("restart {unit} to load it").format(unit=service), sh(
            'systemctl reset-failed "$1" 2>/dev/null; systemctl restart "$1"', service,
            display=f"systemctl restart {service}"), after_change=True)


def probe_check(app: str, found: dict[str, Probe], blackbox: str) -> RunCommand | None:
    """After a change: the blackbox exporter's probe of this app says probe_success 1 (the site answers)."""
    mine = found.get(app)
    if mine is None:
        return None
    url = f"http://{blackbox}/probe?module={app}_health&target={mine['url']}"
    return RunCommand(_("the blackbox exporter's probe of {url} succeeds").format(url=mine["url"]), sh(
        'for i in $(seq 20); do curl -fsS -m 6 "$1" 2>/dev/null | grep -q "^probe_success 1" && exit 0; sleep 0.5; '
        'done; echo "the probe of $2 did not succeed" >&2; curl -sS -m 6 "$1" | grep "^probe_" >&2; exit 1',
        url, mine["url"], display=f"curl -s '{url}' | grep probe_success"))


__all__ = ["RULES", "facts", "prerequisites", "probe", "probe_check", "probes", "rules"]
