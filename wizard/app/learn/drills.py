""""Break and fix" drills: the tool breaks something typical, the learner finds and fixes it by hand.

Why each drill names a step and nothing more to check: "detected" and "fixed" are the grade of that step
(wizard/app/learn/grade.py: its plan, meanings and checks), the same one source of truth as `apply` and
`check`. A drill only knows how to break; the symptom is what a user would report, never the cause, and the
troubleshooting texts of the step are where the learner looks.

The names a break needs come from the recipe's teaching values (DB_USER, STATIC_DIR...) and the shared server
layout (wizard.engine.step.Context): the application does not know the steps' internals.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wizard.engine.commands import Command, cmd, sh
from wizard.engine.errors import DeployWizardError
from wizard.engine.i18n import _
from wizard.engine.step import Context


class DrillError(DeployWizardError):
    """A drill that could not break the server (the step it needs is not done yet)."""


Breaker = Callable[[Context, Mapping[str, str]], Command]


@dataclass(frozen=True)
class Drill:
    name: str
    step: str  # the step whose grade detects it and confirms the fix
    title: str  # translated: what breaks, said to the trainer (never to the learner before it is fixed)
    symptom: str  # translated: what a user reports, with the recipe's placeholders (DOMAIN...)
    breaks: Breaker
    ci: bool = True  # proven in the live tests; False: in bench/learn_drills.py only
    # a directory the drill fills: the practice sandbox first gets a small disk of its own there (made by this
    # machine), since the sandbox's / is this machine's disk; on a server of the learner's own it is refused
    disk: Callable[[Context], str] | None = None


def _nginx_syntax(ctx: Context, values: Mapping[str, str]) -> Command:
    # a directive nginx does not know, in the server block of the site it loads: `nginx -t` names file and line
    return sh('f=$(grep -l -- "$2" /etc/nginx/sites-enabled/* 2>/dev/null | head -n 1); f=$(readlink -f "${f:-$1}");'
              ' sed -i "0,/server_name/s//server_nmae/" "$f" && ! nginx -t -q 2>/dev/null',
              f"/etc/nginx/sites-available/{ctx.app}", values.get("DOMAIN", ctx.app),
              display="# (a typo in the site file)")


def _db_password(ctx: Context, values: Mapping[str, str]) -> Command:
    # the role gets a password nobody knows: the app's DATABASE_URL no longer matches it
    return sh('printf "%s\\n" "alter role :\\"r\\" password :\'p\';" | runuser -u postgres -- psql -q -v r="$1" '
              '-v p="$2"', values.get("DB_USER", ctx.app), secrets.token_urlsafe(18),
              display="# (the role's password changed)")


def _cert_expiring(ctx: Context, values: Mapping[str, str]) -> Command:
    # the live certificate replaced by one of the same key and name that ends in 5 days (what a renewal that
    # silently stopped working leaves behind), served at once
    return sh('d=/etc/letsencrypt/live/$1; c=$(readlink -f "$d/cert.pem") && f=$(readlink -f "$d/fullchain.pem") && '
              'openssl req -x509 -new -key "$d/privkey.pem" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" -days 5 '
              '-out "$c" 2>/dev/null && cp "$c" "$f" && systemctl reload nginx', values.get("DOMAIN", ctx.app),
              display="# (a certificate that ends in 5 days)")


def log_dir(ctx: Context) -> str:
    """The app's log directory (/var/log/APP): where a runaway log fills a disk in real life."""
    return f"/var/log/{ctx.app}"


def _disk_full(ctx: Context, values: Mapping[str, str]) -> Command:
    # a debug log nobody rotates, grown until 3 % of the disk is left (a file of zeros, written at once)
    return sh('set -- "$1" $(df -P -k -- "$1" | awk \'NR == 2 {print $2, $4}\'); '
              'fill=$(( $3 - $2 * 3 / 100 )); [ "$fill" -gt 0 ] && fallocate -l "${fill}K" "$1/debug.log" && '
              'chown --reference="$1" "$1/debug.log"', log_dir(ctx), display="# (a runaway debug log)")


def all_drills() -> tuple[Drill, ...]:
    """Every drill, its words in the current language."""
    return (
        Drill("nginx-stopped", "nginx", _("nginx stopped"),
              _("The site does not answer at all: `curl http://DOMAIN/` says \"Connection refused\"."),
              lambda ctx, v: cmd("systemctl", "stop", "nginx")),
        Drill("nginx-syntax", "nginx", _("a syntax error in the site file"),
              _("A colleague edited the site file by hand; since then `systemctl reload nginx` fails, and the next "
                "restart will take the site down."), _nginx_syntax),
        Drill("static-403", "static", _("the static directory not traversable by www-data (the 403 trap)"),
              _("Pages load without their styles: every file under /static/ answers 403 Forbidden."),
              lambda ctx, v: cmd("chmod", "o-x", ctx.base)),
        Drill("socket-missing", "app_server", _("gunicorn's socket missing"),
              _("Every page answers 502 Bad Gateway."),
              lambda ctx, v: cmd("systemctl", "stop", f"{ctx.app}.socket")),
        Drill("firewall-443", "firewall", _("the firewall blocking 443"),
              _("https://DOMAIN/ times out from outside, while http:// still answers (with its redirect)."),
              lambda ctx, v: cmd("ufw", "deny", "443/tcp")),  # ufw turns the allow rule into a deny
        Drill("db-password", "database", _("the database refusing the app's password"),
              _("The app answers 500 for every page that reads data; its log says \"password authentication "
                "failed\"."), _db_password, ci=False),
        Drill("cert-expiring", "tls", _("a certificate about to expire"),
              _("The monitoring mail says the certificate of DOMAIN ends in 5 days, and nothing renewed it."),
              _cert_expiring, ci=False),
        Drill("disk-full", "monitoring", _("the disk nearly full (a runaway log)"),
              _("The monitoring mail says DiskAlmostFull: a disk of the server is more than 90 % full, and the app "
                "will soon stop writing its logs."), _disk_full, ci=False, disk=log_dir),
    )


def drill(name: str) -> Drill | None:
    return next((d for d in all_drills() if d.name == name), None)


def offered(steps: list[str]) -> list[Drill]:
    """The drills this course can run: those whose step the recipe has."""
    return [d for d in all_drills() if d.step in steps]


__all__ = ["Drill", "DrillError", "all_drills", "drill", "log_dir", "offered"]
