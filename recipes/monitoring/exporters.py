"""The Prometheus exporters from Debian's packages, each private to this server and proven to report.

Why a table of exporters and one plan for all: every exporter needs the same four things, and each one that
misses one of them fails quietly. Debian's packages start them listening on every interface (`:9113`) with
nothing to read: the nginx exporter asks a status page nobody configured, the PostgreSQL one has no DSN, and
both report `*_up 0` forever while systemd says "active". So each exporter here gets:

1. its listen address on 127.0.0.1 (in its /etc/default file, which its unit reads as `$ARGS`);
2. what it reads: nginx's `stub_status` on a unix socket only root and local processes reach, or a
   PostgreSQL role in `pg_monitor` that logs in by peer authentication as the `prometheus` user (no password);
3. a restart when its file changes;
4. a check after every change that its own "up" metric says 1: that it reaches what it exports.

Adding an exporter (the blackbox exporter, mtail, ...) is one more `Exporter` and, where it reads something,
one more prerequisite in `prerequisites`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from recipes.monitoring.facts import ASK_POSTGRES, PG_MONITOR_ROLE, ROLE_IN_PG_MONITOR, PgMonitorRole
from recipes.shared import guards
from recipes.shared.nginx_reload import check_and_reload
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PlanError, PutFile, RunCommand, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

NGINX_STATUS_SOCKET = "/run/nginx-status.sock"
NGINX_STATUS_CONF = "/etc/nginx/conf.d/deploy-wizard-status.conf"


@dataclass(frozen=True)
class Exporter:
    """One exporter package: where it listens, what else goes in its /etc/default file, and its "up" line."""

    job: str  # the Prometheus job name
    package: str  # also its service and its /etc/default file
    listen: str
    up: str  # a regular expression for the metric line that says it reaches what it exports
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    takes_args: bool = True  # its unit reads ARGS with --web.listen-address (mtail's reads HOST and PORT instead)

    @property
    def address(self) -> str:
        """Where this server reaches it (an exporter on every interface is reached on loopback too)."""
        return self.listen.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")

    @property
    def defaults(self) -> str:
        return f"/etc/default/{self.package}"

    def defaults_text(self) -> str:
        return render("exporter.default.j2", env=self.env, takes_args=self.takes_args,
                      args=" ".join((f"--web.listen-address={self.listen}", *self.args)))

    def check(self) -> Command:
        """Its metrics answer and its up line says 1; retried, since a service is not ready at `restart`."""
        return sh('for i in $(seq 20); do curl -fsS -m 2 "$1" 2>/dev/null | grep -qE "$2" && exit 0; sleep 0.5; done;'
                  ' echo "no line matching $2 at $1" >&2; exit 1', f"http://{self.address}/metrics", self.up,
                  display=f"curl -s http://{self.address}/metrics | grep -E '{self.up}'")


def node(listen: str) -> Exporter:
    """The node exporter: its address is the operator's choice (one serves every app on the server)."""
    return Exporter("node", "prometheus-node-exporter", listen, "^node_exporter_build_info")


NGINX = Exporter("nginx", "prometheus-nginx-exporter", "127.0.0.1:9113", "^nginx_up 1$",
                 args=(f"--nginx.scrape-uri=unix:{NGINX_STATUS_SOCKET}:/stub_status",))
POSTGRES = Exporter("postgres", "prometheus-postgres-exporter", "127.0.0.1:9187", "^pg_up 1$", env=(
    ("DATA_SOURCE_NAME", f"user={PG_MONITOR_ROLE} host=/run/postgresql dbname=postgres sslmode=disable"),))


MTAIL_PROGRAM = "/etc/mtail/deploy-wizard-nginx.mtail"
BLACKBOX_CONFIG = "/etc/prometheus/deploy-wizard-blackbox.yml"
# mtail: every app's access log (the site's log_format with rt=), in the adm group Debian gives its user
MTAIL = Exporter("mtail", "mtail", "127.0.0.1:3903", r'^mtail_prog_loads_total\{prog="deploy-wizard-nginx.mtail"\} 1',
                 env=(("LOGS", "/var/log/nginx/*.access.log"), ("HOST", "127.0.0.1"), ("PORT", "3903")),
                 takes_args=False)
BLACKBOX = Exporter("blackbox_exporter", "prometheus-blackbox-exporter", "127.0.0.1:9115",
                    "^blackbox_exporter_build_info", args=(f"--config.file={BLACKBOX_CONFIG}",))


# The exporters whose settings can be in place before Debian starts them, so that the server is then as a dry run
# says: the node exporter reads nothing else. Not the others: Debian 12's nginx exporter exits at its first start
# without nginx's status page (written in this step's next pass), the PostgreSQL one's package makes the file
# its user's (0640) on every configure, and the blackbox exporter needs its probe file; each would be restarted
# or rewritten after all, in ways the plan of a fresh server cannot show.
SETTLED_FIRST = ("prometheus-node-exporter",)
QUIET = ("logrotate", "curl")  # packages that start nothing listening
LOOPBACK = ("127.0.0.1", "[::1]")


def private_from_the_start(exporters: Iterable[Exporter]) -> bool:
    """Whether every exporter settled first listens on loopback only: then its install may run behind the steps
    before its own (wizard.engine.behind), even before the firewall step; an address others reach may not."""
    return all(e.listen.rsplit(":", 1)[0] in LOOPBACK for e in exporters if e.package in SETTLED_FIRST)


def settled_first(exporters: Iterable[Exporter], facts: FactValues, installed: Mapping[str, str | None], *,
                  early: bool) -> Iterator[RunCommand]:
    """Before the install: the /etc/default file of each exporter not installed yet, as the next pass writes
    it, so that Debian starts it on its own address from its very first start (dpkg keeps a settings file it
    finds, with the --force-confold every apt-get here passes: Debian's own goes beside it as `.dpkg-dist`).
    Why: without it, an exporter listens on every address between its install and its settings, which is also
    why its install could not run behind the steps before it (`early`). Written beside and renamed into place:
    a cut-off write never leaves an empty ARGS (every address). An exporter already installed is left to the
    next pass, which restarts it when its file changes; so is a replay of an export (try-restart)."""
    for exporter in exporters:
        if exporter.package not in SETTLED_FIRST or installed.get(exporter.package) is not None:
            continue
        text = exporter.defaults_text()
        for change in file_change("", exporter.defaults, text, facts[FileInfo(exporter.defaults)]):
            if isinstance(change, PutFile):
                yield RunCommand(
                    _("{job} exporter: its settings (it listens on {addr}) in place before its package starts it")
                    .format(job=exporter.job, addr=exporter.listen),
                    sh('install -m 0644 -o root -g root /dev/null "$2.new" && printf "%s" "$1" > "$2.new" && '
                       'mv -f "$2.new" "$2" && { systemctl try-restart "$3" 2>/dev/null || true; }', text,
                       exporter.defaults, f"{exporter.package}.service"),
                    skip_if=guards.file_is(exporter.defaults, text), early=early, leaves=change.leaves)


def wanted(nginx: bool, postgres: bool, app: bool = False) -> tuple[Exporter, ...]:
    return tuple(e for e, on in ((NGINX, nginx), (POSTGRES, postgres), (MTAIL, app), (BLACKBOX, app)) if on)


def facts(exporters: tuple[Exporter, ...]) -> Iterator[Fact]:
    """What the prerequisites are planned from (the exporters' own files and units are the step's)."""
    if NGINX in exporters:
        yield FileInfo(NGINX_STATUS_CONF)
    if POSTGRES in exporters:
        yield PgMonitorRole()


def refuse_without_source(exporters: tuple[Exporter, ...], ctx: Context) -> None:
    """An exporter of a service this recipe does not set up would report "down" forever: say so at plan time."""
    if MTAIL in exporters and ctx.settings("nginx") is None:
        raise PlanError(_("app_metrics reads the site's nginx access log and probes its health URL, but this recipe "
                          "has no nginx step: turn the nginx step on, or app_metrics off."))
    if NGINX in exporters and ctx.settings("nginx") is None:
        raise PlanError(_("nginx_exporter exports nginx's metrics, but this recipe has no nginx step: turn the "
                          "nginx step on, or nginx_exporter off."))
    database = ctx.settings("database")
    if POSTGRES in exporters and getattr(database, "engine", None) != "postgresql":
        raise PlanError(_("postgres_exporter exports PostgreSQL's metrics, but this recipe's database step is not "
                          "PostgreSQL: set database.engine to postgresql, or postgres_exporter off."))


def prerequisites(exporters: tuple[Exporter, ...], facts: FactValues) -> Iterator[Change | Ok]:
    """What the exporters read: nginx's status page, a PostgreSQL role. Each is idempotent and guarded."""
    if NGINX in exporters:
        changes = list(file_change(_("nginx status page for the exporter, on {socket} only").format(
            socket=NGINX_STATUS_SOCKET), NGINX_STATUS_CONF, render("nginx-status.conf.j2", socket=NGINX_STATUS_SOCKET),
            facts[FileInfo(NGINX_STATUS_CONF)], check=cmd("nginx", "-t", "-q")))
        yield from changes
        if any(isinstance(c, Change) for c in changes):
            # the reload waits for nginx's new workers, so the exporter restarted next finds the socket
            yield RunCommand(_("reload nginx to open its status page"), check_and_reload(), after_change=True)
    if POSTGRES in exporters:
        if facts[PgMonitorRole()]:
            yield Ok(_("PostgreSQL role {role} reads statistics (pg_monitor)").format(role=PG_MONITOR_ROLE))
        else:
            sql = ("select format('create role %I login', :'r') where not exists "
                   "(select 1 from pg_roles where rolname = :'r') \\gexec\n"
                   "select format('alter role %I login', :'r') \\gexec\n"
                   "select format('grant pg_monitor to %I', :'r') \\gexec\n")
            yield RunCommand(_("PostgreSQL role {role} for the exporter: read-only statistics (pg_monitor), peer "
                               "login, no password").format(role=PG_MONITOR_ROLE),
                             cmd("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-v", f"r={PG_MONITOR_ROLE}", stdin=sql,
                                 display=f"runuser -u postgres -- psql -c 'create role {PG_MONITOR_ROLE} login' "
                                         f"-c 'grant pg_monitor to {PG_MONITOR_ROLE}'"),
                             skip_if=sh(ASK_POSTGRES + " | grep -qx 1", PG_MONITOR_ROLE, ROLE_IN_PG_MONITOR),
                             leaves=((PgMonitorRole(), True),))

