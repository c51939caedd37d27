"""Step monitoring: metrics, logs that neither vanish nor fill the disk, and a health check that notices outages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

from recipes.monitoring import alerting, app_metrics, central, exporters
from recipes.monitoring.exporters import Exporter
from recipes.monitoring.facts import CentralView
from recipes.monitoring.meanings import (
    disk_meaning,
    exporter_meaning,
    health_meaning,
    journal_meaning,
    rotated_meaning,
    scraped_meaning,
)
from recipes.monitoring.settings import MonitoringSettings, journal_cap, scrape_jobs
from recipes.shared import claims, guards, sandbox
from recipes.shared.apt import install_missing, started
from recipes.shared.facts import UnitExposure, UnitProperties
from recipes.shared.web import site
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    Warn,
    file_change,
)
from wizard.engine.templates import renderer

_ = translator(__file__)

# packages whose service Debian starts at install
SERVICES = ("prometheus-node-exporter", "prometheus", exporters.NGINX.package, exporters.POSTGRES.package,
            exporters.BLACKBOX.package, alerting.PACKAGE)
render = renderer(__file__)

JOURNALD = "/etc/systemd/journald.conf.d/50-deploy-wizard.conf"
PROMETHEUS = "/etc/prometheus/prometheus.yml"
PROMETHEUS_DEFAULTS = "/etc/default/prometheus"
PROMETHEUS_LISTEN = "127.0.0.1:9090"


class Monitoring(Step):
    name = "monitoring"
    order = 1100
    title = "Monitoring and logs"
    Settings = MonitoringSettings
    teaching = Teaching(
        why="You cannot fix what you cannot see. The node exporter publishes CPU, memory, disk and network "
            "metrics for Prometheus (kept on localhost, so only you can read them: Debian starts it on every "
            "address the moment it installs it, so its settings file is written before its package, and dpkg "
            "keeps that file, putting its own beside it as .dpkg-dist); the journal is kept across "
            "reboots but capped so it never fills the disk; app logs are rotated; and a timer checks the site "
            "every few minutes and writes failures to the journal, where alerting can pick them up. The check "
            "needs no root to ask a page: it runs as a user systemd makes up for each run (DynamicUser), in the "
            "same sandbox as the app. With app_metrics, the app's own numbers come from nginx's access log, which "
            "times every request: mtail counts requests by status and collects their times in a histogram (rate, "
            "error ratio, 95th percentile per app), the blackbox exporter asks the health URL with the site's real "
            "name as a visitor would, and Prometheus evaluates the alert rules (site down, 5xx rate, p95 latency, "
            "disk over 90 %, memory, a certificate expiring within 14 days). A server cannot report its own death: "
            "when it is down, so is its Prometheus, so a team with a central Prometheus scrapes these exporters "
            "from there (central_prometheus: the exporters open to that one address through the firewall, and "
            "the scrape config to copy is written on the server). With alert_email, Alertmanager mails every "
            "alert that fires, and again when it is resolved, through the operator's mail relay. Where every "
            "log lives: what the app prints (errors, tracebacks) is in the journal of its release units, "
            "`sudo journalctl -u 'APP@*'`; a line per request in "
            "/var/log/APP/access.log (gunicorn) and /var/log/nginx/APP.access.log (nginx, with each request's "
            "total time rt= and the app's share urt=); the site's errors in /var/log/nginx/APP.error.log, nginx's "
            "own in /var/log/nginx/error.log; PostgreSQL's in /var/log/postgresql/; the rest of the system in the "
            "journal. `deploy-wizard logs RECIPE --service app|nginx|db|system` (or `--service worker <name>`) "
            "reads any of them from your machine. What keeps them bounded: logrotate renames each file daily "
            "(nginx's by Debian's own rule, /var/log/APP/*.log by this step's), compresses the old ones and "
            "deletes them after the kept count; journald deletes its oldest entries once the journal reaches "
            "journald_max_use.",
        verify=[Check("curl -sS http://NODE_EXPORTER/metrics | grep -m 5 '^node_'", when={"node_exporter": True},
                      note="the first lines of the node exporter's metrics"),
                Check("systemctl list-timers --no-pager APP-health.timer", when={"health_check": True},
                      note="when the health check runs next"),
                Check("journalctl -t APP-health -n 20 --no-pager", root=True, when={"health_check": True},
                      note="the health check's failures: no entries means it never failed"),
                Check("systemctl show -p DynamicUser,User APP-health.service", when={"health_check": True},
                      note="DynamicUser=yes: the check never runs as root"),
                Check("journalctl --disk-usage", root=True, note="the journal's size, at most journald_max_use"),
                Check("curl -s http://127.0.0.1:3903/metrics | grep '^deploy_wizard_http_requests_total'",
                      when={"app_metrics": True}, note="requests counted from nginx's access log, by app and status"),
                Check("curl -s http://127.0.0.1:9090/api/v1/alerts", when={"prometheus": True},
                      note="the alerts pending or firing now (an empty list when all is well)"),
                Check("cat /etc/prometheus/central-scrape.yml", when={"central": True},
                      note="the scrape config to copy into the central Prometheus"),
                Check("ufw status", root=True, when={"central": True},
                      note="the exporters' ports allowed from the central Prometheus's address alone")],
        troubleshoot=[
            ("No space left on device", "Check `sudo journalctl --disk-usage` and `sudo du -sh /var/log/*`; lower "
                                        "journald_max_use."),
            ("connection refused on :9100",
             "The exporter listens on 127.0.0.1 only. From your machine, open a tunnel: "
             "`SSH_LOGIN -N -L 9100:127.0.0.1:9100`, then read http://localhost:9100/metrics."),
            ("APP-health: curl: (22) The requested URL returned error",
             "The site did not answer: `systemctl status 'APP@*' nginx` and `sudo journalctl -u 'APP@*'` "
             "say why."),
            ("Where is the Grafana dashboard?",
             "Grafana is not a Debian package, so it is not installed here. Import the dashboard into your own "
             "Grafana: Dashboards > New > Import, upload recipes/monitoring/dashboards/deploy-wizard.json (in "
             "deploy-wizard's source and its installed package), and pick the Prometheus that scrapes this "
             "server as its data source."),
            ("A central Prometheus should watch this server",
             "Set central_prometheus to its address and apply: `sudo ufw status` then lets that address alone "
             "in to each exporter's port, and `sudo cat /etc/prometheus/central-scrape.yml` is the scrape config "
             "to copy into its prometheus.yml."),
            ("No alert mail arrives",
             "Send a test alert: `amtool --alertmanager.url=http://127.0.0.1:9093 alert add DeployWizardTest "
             "severity=test`; about 10 s later `sudo journalctl -u prometheus-alertmanager -n 20` shows the "
             "relay's answer (a refused login, a STARTTLS the relay does not offer: smtp_starttls)."),
            ("Where are the app's logs?",
             "What the app itself prints (errors, tracebacks, print()) is in the journal: "
             "`sudo journalctl -u 'APP@*' -f` follows it. gunicorn writes a line per request to "
             "/var/log/APP/access.log, nginx to /var/log/nginx/access.log, and nginx's own errors (a 502, a 403 "
             "on a static file) go to /var/log/nginx/error.log: `sudo tail -f /var/log/nginx/error.log`. The "
             "health check's failures: `sudo journalctl -t APP-health`."),
        ],
        goal="The server's logs stay within bounds and its health can be measured.",
        section="5.1 Log monitoring; 5.2 Performance monitoring",
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, MonitoringSettings)
        return {"NODE_EXPORTER": settings.node_exporter_listen}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, MonitoringSettings)
        found = [*(exporter_meaning(e) for e in self._exporters(settings)), journal_meaning(JOURNALD), disk_meaning()]
        if settings.logrotate:
            found.append(rotated_meaning(f"/var/log/{ctx.app}"))
        if settings.health_check:
            found.append(health_meaning(self._health_url(ctx)[0], f"{ctx.app}-health"))
        if settings.prometheus:
            found.append(scraped_meaning(PROMETHEUS_LISTEN, tuple(  # the blackbox exporter: through its probes
                e.job for e in self._exporters(settings) if e is not exporters.BLACKBOX)))
        return found

    def _exporters(self, s: MonitoringSettings) -> tuple[Exporter, ...]:
        """Every exporter wanted, the node exporter first."""
        node = (exporters.node(s.node_exporter_listen),) if s.node_exporter else ()
        return (*node, *exporters.wanted(s.nginx_exporter, s.postgres_exporter, s.app_metrics))

    def _opened(self, s: MonitoringSettings) -> Iterator[Exporter]:
        """The exporters as they listen (on every address for a central Prometheus)."""
        return (central.opened(e, s.central_prometheus) for e in self._exporters(s))

    def _packages(self, s: MonitoringSettings) -> tuple[str, ...]:
        wanted = [e.package for e in self._exporters(s)]
        if s.prometheus:
            wanted.append("prometheus")
        if s.alert_email:
            wanted.append(alerting.PACKAGE)
        if s.logrotate:
            wanted.append("logrotate")
        if s.health_check:
            wanted.append("curl")
        return tuple(wanted)

    def _health_url(self, ctx: Context) -> tuple[str, str]:
        """The URL the timer asks, and curl's options: the site through nginx, else the app's socket."""
        web = site(ctx)
        if web is not None:
            owner, nginx = web
            scheme = "https" if ctx.settings("tls") is not None else "http"
            domain = getattr(ctx.settings("tls"), "domain", None) or owner.server_names(nginx)[0]
            # ask this very server (the check must not depend on outside DNS), with the site's name
            port = 443 if scheme == "https" else owner.http_port(nginx)
            return f"{scheme}://{domain}/", f"--resolve {domain}:{port}:127.0.0.1 "
        return "http://localhost/", f"--unix-socket {ctx.socket} "

    def _units(self, ctx: Context) -> tuple[str, str]:
        return (f"/etc/systemd/system/{ctx.app}-health.service", f"/etc/systemd/system/{ctx.app}-health.timer")

    def facts(self, s: MonitoringSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield PackagesInstalled(self._packages(s)) if self._packages(s) else PathInfo("/")
        for exporter in self._exporters(s):
            yield FileInfo(exporter.defaults)
            yield UnitProperties(f"{exporter.package}.service")
        yield from exporters.facts(self._exporters(s))
        yield from app_metrics.facts(s.app_metrics, s.prometheus)
        yield from alerting.facts(bool(s.alert_email))
        if s.central_prometheus:
            yield from (FileInfo(central.SCRAPE_FILE), CentralView(s.central_prometheus))
        yield FileInfo(JOURNALD)
        yield PathInfo("/var/log/journal")
        yield FileInfo(f"/etc/logrotate.d/{ctx.app}")
        if s.prometheus:
            yield FileInfo(PROMETHEUS)
            yield FileInfo(PROMETHEUS_DEFAULTS)
            yield UnitProperties("prometheus.service")
        for unit in self._units(ctx):
            yield FileInfo(unit)
        yield UnitProperties(f"{ctx.app}-health.timer")
        if s.health_check:
            yield UnitExposure(f"{ctx.app}-health.service")
        yield from claims.claim_facts(self.name, ctx)

    def _claim(self, s: MonitoringSettings, ctx: Context) -> dict[str, object]:
        """What this app needs from the server-wide files: exporters to scrape, a journal size, the exporter's
        address (one node exporter serves every app), the health URL the blackbox exporter probes."""
        scrape = {exporter.job: exporter.address for exporter in self._exporters(s)
                  if exporter is not exporters.BLACKBOX}  # scraped through its probes, not its own metrics
        claim: dict[str, object] = {"scrape": scrape, "journald_max_use": s.journald_max_use,
                                    "node_exporter_listen": s.node_exporter_listen if s.node_exporter else None}
        if s.app_metrics:
            claim["probe"] = app_metrics.probe(ctx, getattr(ctx.settings("app_server"), "health_path", "/"))
        if s.central_prometheus:
            claim["central_prometheus"] = s.central_prometheus
        return claim

    def plan(self, s: MonitoringSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        exporters.refuse_without_source(self._exporters(s), ctx)
        central.refuse_without_firewall(s.central_prometheus, ctx)
        packages = self._packages(s)
        if packages:
            # Debian starts each exporter, Prometheus, Alertmanager and mtail on all addresses as it installs them,
            # and this step moves them to 127.0.0.1 (or the central address). Early (wizard.engine.behind) only
            # when every package is the node exporter, whose settings go in place first, or starts nothing
            # listening, the node exporter listens on loopback, and no central Prometheus (whose exporters listen
            # everywhere, before the firewall's rule)
            early = not s.central_prometheus and exporters.private_from_the_start(self._exporters(s)) and all(
                name in exporters.SETTLED_FIRST or name in exporters.QUIET for name in packages)
            installed = facts[PackagesInstalled(packages)]
            install = install_missing(packages, installed, recommends=False, early=early,
                                      brings=started(*(f"{name}.service" for name in packages if name in SERVICES)))
            if install:
                yield from exporters.settled_first(self._opened(s), facts, installed, early=early)
                yield install
                return  # configure against the installed packages' files in the next pass
            yield Ok(_("packages installed: {names}").format(names=", ".join(packages)))
        mine, theirs = self._claim(s, ctx), claims.others(facts, self.name, ctx)
        probes = app_metrics.probes(mine, theirs, ctx.app)
        claims.same_or_conflict("node_exporter_listen", mine["node_exporter_listen"], theirs,
                                "monitoring.node_exporter_listen")
        claims.same_or_conflict("central_prometheus", s.central_prometheus, theirs, "monitoring.central_prometheus")
        yield from claims.record(self.name, ctx, mine, facts)
        cap = journal_cap(mine, theirs)
        yield from exporters.prerequisites(self._exporters(s), facts)
        if s.app_metrics:
            yield from app_metrics.prerequisites(probes, facts)
        for exporter in self._opened(s):
            yield from self._restart_on_change(
                file_change(_("{job} exporter listens on {addr}").format(job=exporter.job, addr=exporter.listen),
                            exporter.defaults, exporter.defaults_text(), facts[FileInfo(exporter.defaults)]),
                exporter.package, facts[UnitProperties(f"{exporter.package}.service")])
        if facts[PathInfo("/var/log/journal")] is None:
            yield RunCommand(_("keep the journal on disk across reboots"), cmd("install", "-d", "-m", "2755", "-g",
                                                                                "systemd-journal", "/var/log/journal"),
                             skip_if=guards.exists("/var/log/journal"))
        yield from self._restart_on_change(
            file_change(_("cap the journal at {size}").format(size=cap), JOURNALD,
                        render("journald.conf.j2", max_use=cap), facts[FileInfo(JOURNALD)]),
            "systemd-journald", None)
        if s.logrotate:
            path = f"/etc/logrotate.d/{ctx.app}"
            yield from file_change(_("rotate /var/log/{app}/*.log daily, keep {n}").format(app=ctx.app,
                                                                                            n=s.logrotate_keep),
                                   path, render("logrotate.j2", app=ctx.app, user=ctx.user, frequency="daily",
                                                keep=s.logrotate_keep), facts[FileInfo(path)],
                                   check=cmd("logrotate", "--debug", path))
        if s.prometheus:
            yield from self._restart_on_change(
                chain(file_change(_("Prometheus listens on {addr}").format(addr=PROMETHEUS_LISTEN),
                                  PROMETHEUS_DEFAULTS, render("prometheus.default.j2", listen=PROMETHEUS_LISTEN),
                                  facts[FileInfo(PROMETHEUS_DEFAULTS)]),
                      app_metrics.rules(facts),
                      file_change(_("Prometheus scrapes the exporters"), PROMETHEUS, render(
                          "prometheus.yml.j2", jobs=scrape_jobs(mine, theirs), probes=probes,
                          blackbox=exporters.BLACKBOX.address, rules=app_metrics.RULES,
                          alertmanager=alerting.LISTEN if s.alert_email else None),
                          facts[FileInfo(PROMETHEUS)], check=cmd("promtool", "check", "config", PROMETHEUS))),
                "prometheus", facts[UnitProperties("prometheus.service")])
        if s.alert_email:
            yield from alerting.plan(s, facts, ctx)
        if s.central_prometheus:
            opened = tuple(central.opened(e, s.central_prometheus) for e in self._exporters(s))
            yield from central.plan(central.Central(s.central_prometheus, opened), facts, ctx, probes, s.prometheus)
        if s.health_check:
            yield from self._plan_health(s, facts, ctx)

    def verify(self, s: MonitoringSettings, ctx: Context) -> list[RunCommand]:
        """An exporter that runs but reads nothing reports "down" forever while systemd says active: each one
        must answer with its "up" line, and Prometheus must be ready."""
        checks = [RunCommand(_("the {job} exporter reports").format(job=e.job), e.check()) for e in self._exporters(s)]
        if s.app_metrics:
            mine = self._claim(s, ctx)
            found = app_metrics.probe_check(ctx.app, app_metrics.probes(mine, {}, ctx.app), exporters.BLACKBOX.address)
            checks += [found] if found else []
        if s.prometheus:
            checks.append(RunCommand(_("Prometheus is ready"), sh(
                'for i in $(seq 30); do curl -fsS -m 2 "$1" >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1',
                f"http://{PROMETHEUS_LISTEN}/-/ready", display=f"curl -s http://{PROMETHEUS_LISTEN}/-/ready")))
        if s.alert_email:
            checks.append(alerting.check())
        return checks

    def _restart_on_change(self, changes: Iterable[Change | Ok], service: str,
                           state: dict[str, str] | None) -> Iterator[Change | Ok]:
        changed = False
        for change in changes:
            changed = changed or isinstance(change, PutFile)
            yield change
        if changed:
            # reset-failed first: Debian starts an exporter at install, before it has anything to read, and
            # its restarts can hit systemd's start limit, which would refuse this restart too
            yield RunCommand(_("restart {unit} to load it").format(unit=service), sh(
                'systemctl reset-failed "$1" 2>/dev/null; systemctl restart "$1"', service,
                display=f"systemctl restart {service}"), after_change=True)
        elif state is not None and state.get("ActiveState") != "active":
            yield RunCommand(_("start {unit}").format(unit=service), cmd("systemctl", "enable", "--now", service),
                             skip_if=guards.unit_running(service))

    def _plan_health(self, s: MonitoringSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        url, curl_options = self._health_url(ctx)
        service, timer = self._units(ctx)
        changed = False
        # the app's socket belongs to nginx's group (app_server's socket unit): asked there only without a site
        socket_group = "www-data" if curl_options.startswith("--unix-socket") else ""
        for path, content in ((service, render("healthcheck.service.j2", app=ctx.app, url=url,
                                                maintenance_dir=ctx.maintenance_dir, curl_options=curl_options,
                                                socket_group=socket_group, sandbox=sandbox.unit_lines())),
                              (timer, render("healthcheck.timer.j2", app=ctx.app, interval=s.health_interval))):
            for change in file_change(_("health check of {url} every {every}").format(url=url,
                                                                                      every=s.health_interval),
                                      path, content, facts[FileInfo(path)]):
                changed = changed or isinstance(change, PutFile)
                yield change
        note = sandbox.exposure_note(f"{ctx.app}-health.service", facts[UnitExposure(f"{ctx.app}-health.service")],
                                     rewriting=changed)
        if note is not None:
            yield note
        state = facts[UnitProperties(f"{ctx.app}-health.timer")]
        if changed or state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled":
            yield RunCommand(_("start the health check timer"), cmd(
                "sh", "-c", 'systemctl daemon-reload && systemctl enable --now "$1"', "sh", f"{ctx.app}-health.timer"),
                skip_if=guards.unit_running(f"{ctx.app}-health.timer"))
