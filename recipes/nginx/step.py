"""Step nginx: the public web server in front of gunicorn, validated with `nginx -t` before every reload.

The site file is rendered by one function shared with the tls step: once a certificate exists, both steps
want the same HTTPS-enabled file, so neither undoes the other and a second run changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.nginx import catchall
from recipes.nginx.facts import NginxConfig, route_of
from recipes.shared import claims, guards
from recipes.shared.apt import install_missing, started
from recipes.shared.facts import PackageVersion, Readlink, UnitProperties, upstream_version
from recipes.shared.meanings import service_active
from recipes.shared.nginx_reload import Unloaded, check_and_reload, nothing_unloaded
from recipes.shared.web import ACME_ROOT, cert_dir, media_root, static_files, static_root
from wizard.engine.commands import cmd
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled, PathInfo
from wizard.engine.hooks import LogSource
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    Warn,
    file_change,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import HostName

_ = translator(__file__)
render = renderer(__file__)

NGINX_TEST = cmd("nginx", "-t", "-q")


def body_size(value: str) -> str:
    if not re.match(r"^[1-9][0-9]{0,5}[kKmMgG]?$", value):
        raise ValueError(_("'{v}' is not a size like 10m, 512k or 1g").format(v=value))
    return value


class NginxSettings(StepSettings):
    server_names: list[HostName] = Field(min_length=1, description=(
        "Domain names the site answers to, e.g. example.com, www.example.com."))
    client_max_body_size: Annotated[str, AfterValidator(body_size)] = Field("10m", description=(
        "Largest request body (upload) nginx accepts."))
    gzip: bool = Field(True, description="Compress text responses.")
    security_headers: bool = Field(True, description=(
        "Send nosniff, frame and referrer headers (and HSTS with TLS) where the app sends none of its own."))
    default_site: Literal["remove", "keep"] = Field("remove", description=(
        "'remove': Debian's 'Welcome to nginx' site goes, and a catch-all site answers names no app serves with "
        "nothing at all (444; on 443 the TLS handshake is refused). 'keep': Debian's site stays the default."))
    http_port: int = Field(80, ge=1, le=65535, description="Port of the plain-HTTP server block.")
    rate_limit: int = Field(0, ge=0, le=10000, description=(
        "Requests per second one client address may send to the app (bursts of twice that pass; answered 429 "
        "beyond); 0 = no limit. Static files are not limited."))


def site_path(ctx: Context) -> str:
    return f"/etc/nginx/sites-available/{ctx.app}"


def enabled_path(ctx: Context) -> str:
    return f"/etc/nginx/sites-enabled/{ctx.app}"


def tls_domain(ctx: Context) -> str | None:
    tls = ctx.settings("tls")
    nginx = ctx.settings("nginx")
    if tls is None or not isinstance(nginx, NginxSettings):  # the nginx step reading its own settings
        return None
    return getattr(tls, "domain", None) or nginx.server_names[0]


NGINX_INSTALLED = PackagesInstalled(("nginx",))


def site_facts(ctx: Context, known: FactValues) -> list[Fact]:
    """What the site is rendered from. nginx's version (its http2 line) is asked once dpkg has answered whether
    nginx is there, one round later: on a server without nginx, apt-cache reads every package list for it
    (0.4 s), and a first apply's first read of the server would wait for that although its first step changes
    the server before any later step plans (wizard.engine.ahead stops reading ahead there)."""
    facts: list[Fact] = [FileInfo(site_path(ctx)), Readlink(enabled_path(ctx)), PathInfo(ACME_ROOT), NGINX_INSTALLED,
                         Unloaded()]
    if NGINX_INSTALLED in known:
        facts.append(PackageVersion("nginx"))
    domain = tls_domain(ctx)
    if domain:
        facts.append(FileInfo(f"{cert_dir(domain)}/fullchain.pem"))
    return facts


def render_site(ctx: Context, s: NginxSettings, facts: FactValues) -> str:
    domain = tls_domain(ctx)
    tls = bool(domain) and facts[FileInfo(f"{cert_dir(domain)}/fullchain.pem")] is not None
    static = static_files(ctx)
    values = {
        "app": ctx.app, "socket": ctx.socket, "server_names": s.server_names, "http_port": s.http_port,
        # nginx variables are global and take no "-": one name per app ("_" doubled first, so two apps never meet)
        "headers": "dw_" + ctx.app.replace("_", "__").replace("-", "_h"),
        "canonical_name": domain or s.server_names[0],
        "client_max_body_size": s.client_max_body_size, "gzip": s.gzip, "security_headers": s.security_headers,
        "rate_limit": s.rate_limit, "acme_root": ACME_ROOT, "tls": tls, "maintenance_dir": ctx.maintenance_dir,
        "cert_dir": cert_dir(domain) if domain else "",
        "static_root": static_root(static, ctx) if static else None,
        "static_url": static.static_url if static else "/static/",
        "media_root": media_root(ctx) if static and static.media else None,
        "media_url": static.media_url if static else "/media/",
        # nginx 1.25.1 made HTTP/2 its own directive and warns at every `nginx -t` about the old `listen` flag
        "http2_directive": upstream_version(facts[PackageVersion("nginx")]) >= (1, 25, 1),
    }
    return render("nginx-site.j2", **values)


def site_changes(ctx: Context, s: NginxSettings, facts: FactValues) -> Iterator[Change | Ok]:
    """Write the site (checked with nginx -t, restored if it fails), enable it, reload nginx when needed."""
    if facts[PathInfo(ACME_ROOT)] is None:
        yield RunCommand(_("create {path} for certificate challenges").format(path=ACME_ROOT),
                         cmd("install", "-d", "-m", "0755", ACME_ROOT), skip_if=guards.exists(ACME_ROOT),
                         leaves=((PathInfo(ACME_ROOT), {"type": "directory", "mode": "755", "owner": "root",
                                                        "group": "root"}),))
    changes = list(file_change(_("write the nginx site {path}").format(path=site_path(ctx)), site_path(ctx),
                               render_site(ctx, s, facts), facts[FileInfo(site_path(ctx))], check=NGINX_TEST))
    yield from changes
    changed = any(isinstance(change, PutFile) for change in changes)
    if facts[Readlink(enabled_path(ctx))] != site_path(ctx):
        yield RunCommand(_("enable the site"), cmd("ln", "-sfn", site_path(ctx), enabled_path(ctx)),
                         skip_if=guards.link_is(enabled_path(ctx), site_path(ctx)),
                         leaves=((Readlink(enabled_path(ctx)), site_path(ctx)),))
        changed = True
    if changed:
        yield RunCommand(_("check the whole configuration and reload nginx"),
                         check_and_reload(), after_change=True)
    elif facts[Unloaded()]:
        yield RunCommand(_("reload nginx: files changed after it last loaded them ({paths})").format(
            paths=", ".join(facts[Unloaded()])), check_and_reload(), skip_if=nothing_unloaded(),
            leaves=((Unloaded(), ()),))


class Nginx(Step):
    name = "nginx"
    order = 800
    title = "nginx web server"
    Settings = NginxSettings
    teaching = Teaching(
        why="nginx faces the internet: it handles slow clients, TLS, compression and static files, and passes "
            "only real requests to gunicorn through a local socket. Every config change is tested with "
            "`nginx -t` first; a config that fails is put back before nginx ever loads it. A change is applied "
            "with `systemctl reload nginx`: nginx reads the new config and lets its old workers finish what they "
            "serve. The command returns before the new workers take over, so deploy-wizard waits for that, and "
            "a reload nginx refuses (a port another program holds) fails the run instead of going unnoticed. "
            "`restart` stops nginx first and cuts every open connection; it is only needed after nginx "
            "itself was upgraded. A request for a name no site on this server serves (a scanner asking for the IP "
            "address, a stale or hostile DNS record) is answered by a catch-all site of the whole server with "
            "nothing at all (444 closes the connection; on 443 the TLS handshake is refused), never with your app's "
            "pages. HTTP is redirected to https://DOMAIN, the certificate's name, never to the name the request "
            "claims, and nginx does not tell its version (server_tokens off). Its logs are 0640: readable by "
            "www-data and the adm group, as Debian creates and rotates them.",
        verify=[Check("nginx -t", root=True),
                Check("curl -sS -I --resolve DOMAIN:HTTP_PORT:127.0.0.1 http://DOMAIN:HTTP_PORT/",
                      note="ask this server's nginx for the site, whatever DNS says yet"),
                Check("curl -s -o /dev/null -H 'Host: unknown.invalid' http://127.0.0.1:HTTP_PORT/; [ $? = 52 ] && "
                      "echo 'empty reply: the catch-all closed the connection'",
                      note="a name no site serves gets no answer at all (curl's exit status 52 is the catch-all's "
                           "444)"),
                Check("ls -l /var/log/nginx/", root=True, note="the logs: -rw-r----- (0640), www-data adm"),
                Check("tail -n 20 /var/log/nginx/error.log", root=True)],
        troubleshoot=[
            ("502 Bad Gateway", "nginx is fine but gunicorn does not answer: check the app_server step's service."),
            ("nginx: [emerg] unknown directive", "A config file has a typo; `sudo nginx -t` names the file and line."),
            ("Welcome to nginx! page instead of the app",
             "Debian's default site answers: the request's Host does not match server_names, and default_site is "
             "keep."),
            ("curl: (52) Empty reply from server",
             "The catch-all answered (444): the request's Host is none of the site's server_names. Ask by name "
             "(`curl --resolve DOMAIN:HTTP_PORT:HOST http://DOMAIN/`), or add the name to server_names."),
        ],
        goal="nginx answers on port 80 for the site's name and passes every request it does not serve from disk "
             "to the app's socket.",
        section="4.1 Web server configuration",
    )

    def log_sources(self, settings: StepSettings, ctx: Context) -> dict[str, LogSource]:
        """The LogSources hook: the site's own logs, and nginx's own errors (a config it refused, a worker)."""
        return {"nginx": LogSource(files=(*catchall.app_logs(ctx.app), "/var/log/nginx/error.log"))}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """nginx runs, and what nginx itself loads (`nginx -T`) sends the site's name to the app's socket: any
        file name, comments, order or extra headers of the learner's own pass; a wrong socket does not."""
        assert isinstance(settings, NginxSettings)
        name, wanted = settings.server_names[0], f"unix:{ctx.socket}"

        def routes(facts: FactValues) -> str | None:
            state = facts[NginxConfig()]
            if not state.valid:
                return _("nginx -t refuses the configuration: {error}").format(error=state.error)
            route = route_of(state.config, name)
            if route is None:
                return _("no server block with server_name {name} passes / on (proxy_pass)").format(name=name)
            if route != wanted:
                return _("requests for {name} go to {route}, not to the app's socket {socket}: every page would be "
                         "502").format(name=name, route=route, socket=wanted)
            return None

        return [service_active("nginx", _("nginx is running")),
                Meaning(_("nginx sends requests for {name} to the app's socket {socket}").format(
                    name=name, socket=wanted), (NginxConfig(),), routes)]

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, NginxSettings)
        return {"DOMAIN": settings.server_names[0], "HTTP_PORT": str(settings.http_port)}

    # The site, offered to the tls step (recipes.shared.web.SiteOwner): one renderer, so neither undoes the other.
    def server_names(self, settings: StepSettings) -> list[str]:
        assert isinstance(settings, NginxSettings)
        return list(settings.server_names)

    def http_port(self, settings: StepSettings) -> int:
        assert isinstance(settings, NginxSettings)
        return settings.http_port

    def site_facts(self, ctx: Context, known: FactValues) -> list[Fact]:
        return site_facts(ctx, known)

    def site_changes(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, NginxSettings)
        return site_changes(ctx, settings, facts)

    def facts(self, s: NginxSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield UnitProperties("nginx.service")
        yield from site_facts(ctx, known)
        yield from catchall.facts(ctx.app)
        yield from claims.claim_facts(self.name, ctx)
        yield FileInfo(f"{ctx.maintenance_dir}/on")

    def plan(self, s: NginxSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        # early (installed behind the steps before it: wizard.engine.behind), although Debian starts nginx on
        # :80 with its default site: that site is one static page (/var/www/html), proxies nothing and runs no
        # code, until this step puts its catch-all and the app's site in its place, minutes later in the same
        # run; a fresh server answers SSH on the same address anyway
        install = install_missing(("nginx",), facts[NGINX_INSTALLED], early=True, brings=(
            *started("nginx.service"), (PathInfo(catchall.DEBIAN_DEFAULT),
                                        {"type": "symbolic link", "mode": "777", "owner": "root", "group": "root"})))
        if install:
            yield install
            return  # the site is planned against the installed package's files
        for app, claim in sorted(claims.others(facts, self.name, ctx).items()):
            taken = sorted(set(claim.get("server_names", [])) & set(s.server_names))
            if taken:
                raise PlanError(_("conflict with the app {app} on this server: it already serves {names}. A name "
                                  "can lead to one site only: give this app other server_names, or remove {app}'s "
                                  "site first.").format(app=app, names=", ".join(taken)))
        mine = {"server_names": list(s.server_names),
                **catchall.claim(s.default_site, s.http_port, ctx.settings("tls") is not None)}
        yield from claims.record(self.name, ctx, mine, facts)
        yield from catchall.create_app_logs(ctx.app, facts)
        yield from site_changes(ctx, s, facts)
        switch = facts[FileInfo(f"{ctx.maintenance_dir}/on")]
        if switch is not None:
            yield Warn(_("maintenance mode is on since {since}: visitors get the maintenance page (503); "
                         "`deploy-wizard maintenance <recipe file> off` ends it").format(
                             since=(switch.text() or "").strip() or "?"))
        yield from catchall.plan(mine, claims.others(facts, self.name, ctx), facts, ctx.app)
        state = facts[UnitProperties("nginx.service")]
        if state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled":
            yield RunCommand(_("start nginx now and at every boot"), cmd("systemctl", "enable", "--now", "nginx"),
                             skip_if=guards.unit_running("nginx"))
        else:
            yield Ok(_("nginx is running"))
