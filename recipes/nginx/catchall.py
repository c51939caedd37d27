"""The server's catch-all site: a request for a name no app serves gets no answer at all.

Why: nginx answers a Host header no site names with its default server, and without one that is the first site
it read: your app, under whatever name a scanner, a stale DNS record or a hostile domain pointed at this server's
address. Search engines index your pages under that name, and cookies and absolute links meet a host they were
never meant for. Here a default server of the whole server's (not of any app's, so two apps on one server share
exactly one) closes such connections without a word (444), and on port 443 refuses the TLS handshake for an
unknown name (`ssl_reject_handshake`, nginx 1.19.4+), so it never shows a certificate either. Debian's "Welcome
to nginx" site, the default server it ships, goes, because two default servers on one port are an error.

It listens on every HTTP port any app on the server uses, and on 443 once any of them has TLS: each app leaves
what it needs in its nginx claim (recipes/shared/claims.py), so either recipe renders the same file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

from recipes.shared import guards
from recipes.shared.claims import Claim, same_or_conflict
from recipes.shared.facts import PackageVersion, Readlink, upstream_version
from recipes.shared.nginx_reload import check_and_reload, reloading
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Ok, PutFile, RunCommand, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

SITE = "/etc/nginx/sites-available/00-default-deny"  # 00-: read first, whatever other sites are named
LINK = "/etc/nginx/sites-enabled/00-default-deny"
DEBIAN_DEFAULT = "/etc/nginx/sites-enabled/default"
LOGS = ("/var/log/nginx/access.log", "/var/log/nginx/error.log")
REJECT_HANDSHAKE = (1, 19, 4)  # the nginx that knows ssl_reject_handshake

DefaultSite = Literal["remove", "keep"]

# Enable, test the whole configuration, reload; a configuration nginx refuses loses the link again, so the next
# reload (of any site) is not the one that finds it broken.
ENABLE = ('ln -sfn "$1" "$2" && if nginx -t -q; then reload_nginx; '
          'else rm -f "$2"; echo "nginx -t refused $1: the link is removed again" >&2; exit 1; fi')
# chmod through a descriptor opened without following links: the log files are www-data's (Debian's postinst
# creates them 0640 www-data:adm in a root:adm 0755 directory), and root never follows a path another account
# could have swapped for a link. perl is on every Debian and Ubuntu system (perl-base).
PRIVATE_LOGS = ('use Fcntl; for (@ARGV) { sysopen(my $f, $_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) or next; '
                'chmod(0640, $f) if -f $f }')


def app_logs(app: str) -> tuple[str, str]:
    """The app's own access log (with request times, the site's log_format) and error log."""
    return f"/var/log/nginx/{app}.access.log", f"/var/log/nginx/{app}.error.log"


def facts(app: str) -> list[Fact]:
    return [FileInfo(SITE), Readlink(LINK), PathInfo(DEBIAN_DEFAULT), *(PathInfo(log) for log in LOGS + app_logs(app))]


def create_app_logs(app: str, facts: FactValues) -> Iterator[Change]:
    """The app's logs made before the site names them, 0640 www-data:adm as Debian makes its own; nginx would
    create them 0644 (world-readable: query strings carry tokens). /var/log/nginx is root:adm 0755: no other
    account can plant a link there."""
    missing = [log for log in app_logs(app) if facts[PathInfo(log)] is None]
    if missing:
        yield RunCommand(_("create the app's nginx logs, readable by www-data and adm only (0640): {paths}").format(
            paths=", ".join(missing)), sh('for f; do [ -e "$f" ] || install -m 0640 -o www-data -g adm /dev/null '
                                           '"$f" || exit 1; done', *missing,
                                           display=f"install -m 0640 -o www-data -g adm /dev/null {' '.join(missing)}"),
            skip_if=sh('for f; do [ -e "$f" ] || exit 1; done', *missing),
            leaves=tuple((PathInfo(log), {"type": "regular file", "mode": "640", "owner": "www-data", "group": "adm"})
                         for log in missing))


def claim(default_site: DefaultSite, http_port: int, tls: bool) -> Claim:
    """What this app needs from the catch-all, for the other apps' plans."""
    return {"default_site": default_site, "http_port": http_port, "tls": tls}


def render_site(mine: Claim, theirs: Mapping[str, Claim], nginx_version: str | None) -> str:
    claims = [mine, *theirs.values()]
    ports = sorted({int(c["http_port"]) for c in claims if isinstance(c.get("http_port"), int)})
    version = upstream_version(nginx_version)  # () when unknown (a preview): every supported release has it
    tls = any(c.get("tls") for c in claims) and (not version or version >= REJECT_HANDSHAKE)
    return render("default-deny.j2", ports=ports, tls=tls)


def _remove(site: str) -> Command:
    """Turn a site off: its link goes, then the whole configuration is tested and nginx reloaded."""
    return reloading('rm -f "$1" && nginx -t -q && reload_nginx', site, display=f"rm {site} && systemctl reload nginx")


def plan(mine: Claim, theirs: Mapping[str, Claim], facts: FactValues, app: str) -> Iterator[Change | Ok]:
    """Debian's default site out, the catch-all in (or, with default_site: keep, neither touched but our own
    catch-all removed, since it would take the default from Debian's site). The app's site is written before."""
    same_or_conflict("default_site", mine["default_site"], theirs, "nginx.default_site")
    yield from _private_logs(facts, LOGS + app_logs(app))
    if mine["default_site"] == "keep":
        if facts[Readlink(LINK)] is not None:
            yield RunCommand(_("turn off the catch-all site (default_site: keep)"), _remove(LINK),
                             skip_if=guards.missing(LINK))
        return
    if facts[PathInfo(DEBIAN_DEFAULT)] is not None:
        yield RunCommand(_("turn off the default 'Welcome to nginx' site"),
                         _remove(DEBIAN_DEFAULT), skip_if=guards.missing(DEBIAN_DEFAULT))
    changes = list(file_change(_("write the catch-all site {path}: unknown names get no answer").format(path=SITE),
                               SITE, render_site(mine, theirs, facts[PackageVersion("nginx")]), facts[FileInfo(SITE)],
                               check=cmd("nginx", "-t", "-q")))
    yield from changes
    if facts[Readlink(LINK)] != SITE:
        yield RunCommand(_("enable the catch-all site and reload nginx"), reloading(ENABLE, SITE, LINK, display=(
            f"ln -sfn {SITE} {LINK} && nginx -t && systemctl reload nginx")), skip_if=guards.link_is(LINK, SITE),
            leaves=((Readlink(LINK), SITE),))
    elif any(isinstance(change, PutFile) for change in changes):
        yield RunCommand(_("check the whole configuration and reload nginx"),
                         check_and_reload(), after_change=True)
    else:
        yield Ok(_("unknown names get no answer (the catch-all site {path})").format(path=SITE))


def _private_logs(facts: FactValues, logs: tuple[str, ...]) -> Iterator[Change]:
    """nginx's logs readable by www-data and adm only (0640), as Debian creates and rotates them."""
    loose = [log for log in logs if (facts[PathInfo(log)] or {}).get("mode", "640") != "640"]
    if loose:
        yield RunCommand(_("make nginx's logs readable by www-data and adm only (0640): {paths}").format(
            paths=", ".join(loose)), cmd("perl", "-e", PRIVATE_LOGS, *loose, display=f"chmod 0640 {' '.join(loose)}"),
            skip_if=sh('for f; do [ ! -f "$f" ] || [ "$(stat -c %a "$f")" = 640 ] || exit 1; done', *loose))
