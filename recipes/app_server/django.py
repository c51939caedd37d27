"""Django met where it is: the settings a deploy depends on, read from the release itself, before it goes live.

Why read them instead of trusting the recipe: a Django project decides its STATIC_ROOT, ALLOWED_HOSTS or
proxy header in settings.py, and a mismatch with the server fails quietly (404 for every CSS file, "Bad
Request (400)" for every page, "CSRF verification failed" on every form). The release is asked the way the
service runs it: as the app user, in the release, with the app's env files, so what it answers is what
gunicorn will see. That runs the app's code with its secrets, so it happens only once a release is on the
server (at apply before the switch, and in `check`); a dry run of a fresh server lists it as decided at run
time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from recipes.shared.common import APP_ENV
from recipes.shared.web import deps_marker_in, media_root, site, static_files, static_root
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Context, Later, Ok, Warn

_ = translator(__file__)

SETTINGS = ("DEBUG", "ALLOWED_HOSTS", "STATIC_ROOT", "MEDIA_ROOT", "CSRF_TRUSTED_ORIGINS", "SECURE_PROXY_SSL_HEADER")
READ = ("import json\nfrom django.conf import settings as s\n"
        f"v = {{k: getattr(s, k, None) for k in {SETTINGS!r}}}\n"
        "v['LOGGING'] = bool(getattr(s, 'LOGGING', None))\n"
        "print('@@DW-SETTINGS ' + json.dumps(v, default=str))\n")
# As the app user in the release with its env files (APP_ENV), the venv first on PATH ($1).
INSPECT = APP_ENV + (
    'PATH="$1/bin:$PATH"; [ -f manage.py ] || { echo "@@DW not-django"; exit 0; }; '
    'timeout 120 python manage.py shell -c "$DW_READ" 2>&1 | tail -n 20; '
    'echo "@@DW check"; timeout 300 python manage.py check --deploy 2>&1 | tail -n 80')
CHECK_LINE = re.compile(r"^\S*: \(([a-z_.]+\.[WEC]\d+)\) (.+)$")

Report = dict[str, Any]  # django, settings, problems ([(id, text)]), error


@dataclass(frozen=True, eq=False)
class DjangoReport(Fact):
    """What a release's Django settings say (only the few a deploy depends on) and `check --deploy`'s findings."""

    release: str  # the release directory
    user: str = field(compare=False)
    env_dir: str = field(compare=False)
    venv: str = field(compare=False)
    home: str = field(compare=False)

    kind = "django"

    def command(self) -> Command:
        return sh('runuser -u "$1" -- env DW_ENV_DIR="$2" DW_RELEASE="$3" HOME="$4" DW_READ="$5" sh -c "$6" sh "$7"',
                  self.user, self.env_dir, self.release, self.home, READ, INSPECT, self.venv)

    def fresh(self) -> Report:
        return {"django": False}

    def after(self, value: Report, planned: Mapping[str, Any]) -> Report:
        """In a dry run whose earlier steps make the venv anew or install into it: what the release reads then
        is not what it reads now (now it may not even start: no python), so it is decided at run time."""
        touched = (PathInfo(f"{self.venv}/bin/pip").key, FileInfo(deps_marker_in(self.venv)).key)
        if value.get("django") and any(key in planned for key in touched):
            return {**value, "settings": None, "error": None, "later": True}
        return value

    def parse(self, out: str, status: int) -> Report:
        if "@@DW not-django" in out:
            return {"django": False}
        head, _sep, check = out.partition("@@DW check")
        found = [line for line in head.splitlines() if line.startswith("@@DW-SETTINGS ")]
        if not found:
            lines = [line for line in head.splitlines() if line.strip()]
            return {"django": True, "settings": None, "problems": [], "error": lines[-1] if lines else "?"}
        problems = [match.groups() for match in map(CHECK_LINE.match, check.splitlines()) if match]
        return {"django": True, "settings": json.loads(found[-1].removeprefix("@@DW-SETTINGS ")),
                "problems": [list(p) for p in problems], "error": None}


def report_fact(ctx: Context, release: str) -> DjangoReport:
    return DjangoReport(f"{ctx.releases}/{release}", ctx.user, ctx.env_dir, ctx.venv, ctx.home)


def report_facts(ctx: Context, release: str | None, known: FactValues) -> list[Fact]:
    if release is None:
        return []
    where = PathInfo(f"{ctx.releases}/{release}")
    return [where, report_fact(ctx, release)] if where in known and known[where] else [where]


def findings(ctx: Context, release: str | None, facts: FactValues) -> Iterator[Ok | Warn | Later]:
    """Warnings with their fixes, for a Django release; nothing for other apps."""
    if release is None:
        return
    if facts[PathInfo(f"{ctx.releases}/{release}")] is None:
        yield Later(_("read the release's Django settings and run manage.py check --deploy before it goes live"),
                    _("whether release {id} is a Django project is read after the checkout").format(id=release))
        return
    report = facts[report_fact(ctx, release)]
    if not report["django"]:
        return
    if report.get("later"):
        yield Later(_("read the release's Django settings and run manage.py check --deploy before it goes live"),
                    _("the venv release {id} runs with is made or filled by this run first").format(id=release))
        return
    if report["settings"] is None:
        yield Warn(_("the Django settings of release {id} do not load: {error}").format(id=release,
                                                                                       error=report["error"]),
                   _("Run `deploy-wizard run RECIPE -- python manage.py check` to see the whole error."))
        return
    found = [*settings_findings(ctx, report["settings"]), *check_findings(ctx, report["problems"])]
    yield from found
    if not any(isinstance(item, Warn) for item in found):
        yield Ok(_("the Django settings of release {id} match the server").format(id=release))


def _same_dir(a: object, b: str) -> bool:
    return isinstance(a, str) and a.rstrip("/") == b.rstrip("/")


def host_allowed(name: str, allowed: list[str]) -> bool:
    """Django's own rule: '*', the exact name, or '.example.com' for the domain and its subdomains."""
    return any(p == "*" or p.lower() == name.lower() or
               (p.startswith(".") and (name.lower().endswith(p.lower()) or name.lower() == p[1:].lower()))
               for p in allowed)


def settings_findings(ctx: Context, values: dict[str, Any]) -> Iterator[Warn]:
    static = static_files(ctx)
    if static is not None and static.collect == "django" and not _same_dir(values["STATIC_ROOT"],
                                                                            static_root(static, ctx)):
        yield Warn(_("STATIC_ROOT is {now}, but nginx serves static files from {path}").format(
            now=values["STATIC_ROOT"], path=static_root(static, ctx)),
            _("In settings.py: STATIC_ROOT = os.environ[\"STATIC_ROOT\"] (app.env sets it)."))
    if static is not None and static.media and not _same_dir(values["MEDIA_ROOT"], media_root(ctx)):
        yield Warn(_("MEDIA_ROOT is {now}, but uploads are kept (and served) in {path}").format(
            now=values["MEDIA_ROOT"] or "-", path=media_root(ctx)),
            _("In settings.py: MEDIA_ROOT = os.environ[\"MEDIA_ROOT\"] (app.env sets it; it survives releases)."))
    web = site(ctx)
    names = web[0].server_names(web[1]) if web else []
    missing = [n for n in names if not host_allowed(n, list(values["ALLOWED_HOSTS"] or []))]
    if missing:
        yield Warn(_("ALLOWED_HOSTS lacks {names}: Django answers 400 Bad Request to them").format(
            names=", ".join(missing)),
            _("In settings.py: ALLOWED_HOSTS = os.environ[\"ALLOWED_HOSTS\"].split(\",\"), and in the recipe's "
              "app_server env: ALLOWED_HOSTS: {names}").format(names=",".join(names)))
    if ctx.settings("tls") is not None:
        yield from tls_findings(names, values)
    if values["DEBUG"]:
        yield Warn(_("DEBUG is on: error pages show your code and settings to anyone"),
                   _("In settings.py: DEBUG = os.environ.get(\"DEBUG\") == \"1\", and leave DEBUG out of app.env."))
    elif not values["LOGGING"]:
        yield Warn(_("With DEBUG off and no LOGGING, a 500 error leaves nothing in the journal"),
                   _("In settings.py:\nLOGGING = {\"version\": 1, \"disable_existing_loggers\": False,\n"
                     "           \"handlers\": {\"console\": {\"class\": \"logging.StreamHandler\"}},\n"
                     "           \"root\": {\"handlers\": [\"console\"], \"level\": \"WARNING\"}}\n"
                     "gunicorn passes stderr to the journal: journalctl -u 'APP@*'"))


def tls_findings(names: list[str], values: dict[str, Any]) -> Iterator[Warn]:
    origins = list(values["CSRF_TRUSTED_ORIGINS"] or [])
    missing = [f"https://{n}" for n in names if f"https://{n}" not in origins]
    if missing:
        yield Warn(_("CSRF_TRUSTED_ORIGINS lacks {origins}: forms posted over HTTPS fail the CSRF check").format(
            origins=", ".join(missing)),
            _("In settings.py: CSRF_TRUSTED_ORIGINS = os.environ[\"CSRF_TRUSTED_ORIGINS\"].split(\",\"), and in "
              "the recipe's app_server env: CSRF_TRUSTED_ORIGINS: {origins}").format(
                origins=",".join(f"https://{n}" for n in names)))
    header = values["SECURE_PROXY_SSL_HEADER"]
    if not header or list(header) != ["HTTP_X_FORWARDED_PROTO", "https"]:
        yield Warn(_("SECURE_PROXY_SSL_HEADER is not set: behind nginx, Django takes every request for plain HTTP"),
                   _("In settings.py: SECURE_PROXY_SSL_HEADER = (\"HTTP_X_FORWARDED_PROTO\", \"https\") "
                     "(nginx sets that header)."))


def covered_by_nginx(ctx: Context) -> set[str]:
    """check --deploy findings the nginx site already answers (its security headers, HSTS and the redirect to
    HTTPS): repeating them on every run would bury the findings that matter."""
    nginx, tls = ctx.settings("nginx"), ctx.settings("tls") is not None
    covered = set()
    if nginx is not None and getattr(nginx, "security_headers", False):
        covered |= {"security.W002"} | ({"security.W004"} if tls else set())
    if nginx is not None and tls:
        covered.add("security.W008")
    return covered


# check --deploy findings about a cookie sent only over HTTPS: right behind TLS, wrong on plain HTTP
SECURE_COOKIES = {"security.W016": "CSRF_COOKIE_SECURE", "security.W012": "SESSION_COOKIE_SECURE"}


def cookie_fix(ident: str, tls: bool) -> str:
    """What a secure-cookie finding means on this server, so a practice server on plain HTTP does not leave the
    operator with an unexplained warning (a secure-only cookie never comes back over HTTP: every form fails)."""
    setting = SECURE_COOKIES[ident]
    if tls:
        return _("What it means: Django may send this cookie over plain HTTP. The site is HTTPS (the tls step): set "
                 "{setting} = True in settings.py and the warning goes away.").format(setting=setting)
    return _("What it means: Django may send this cookie over plain HTTP. This site has no TLS, so it is plain HTTP, "
             "where a cookie marked secure never comes back and every form would fail: leave {setting} off here. "
             "With TLS (the tls step), set {setting} = True and the warning goes away.").format(setting=setting)


def check_findings(ctx: Context, problems: list[list[str]]) -> Iterator[Ok | Warn]:
    covered, tls = covered_by_nginx(ctx), ctx.settings("tls") is not None
    for ident, text in problems:
        if ident not in covered:
            yield Warn(_("manage.py check --deploy: ({id}) {text}").format(id=ident, text=text),
                       cookie_fix(ident, tls) if ident in SECURE_COOKIES else "")
    handled = sorted(covered & {ident for ident, _text in problems})
    if handled:
        yield Ok(_("manage.py check --deploy: {ids} are handled by the nginx site").format(ids=", ".join(handled)))
