"""Alert mail: Alertmanager (Debian's prometheus-alertmanager) sends the alerts Prometheus fires, by email,
through the relay the operator names.

Why Alertmanager and not a script: Prometheus only decides that an alert fires; grouping (one mail for five
alerts of one outage), repeating a firing alert every few hours and saying when it is resolved are
Alertmanager's job. It listens on 127.0.0.1 (its web API and its cluster port, which Debian opens on every
address, are closed to the network: one Alertmanager, no cluster). The relay's password is a secret reference:
it is written only to a file root and the prometheus group read (smtp_auth_password_file), never into
alertmanager.yml, the recipe or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Protocol

from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PutFile, RunCommand, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)

PACKAGE = "prometheus-alertmanager"
CONFIG = "/etc/prometheus/alertmanager.yml"
DEFAULTS = f"/etc/default/{PACKAGE}"
PASSWORD_FILE = "/etc/prometheus/alertmanager-smtp-password"  # noqa: S105  (a path, not a password)
LISTEN = "127.0.0.1:9093"


def email_address(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$", value):
        raise ValueError(_("'{v}' is not an e-mail address").format(v=value))
    return value


def relay(value: str) -> str:
    """host:port of the mail relay (a name or an IPv4 address; an IPv6 address in brackets)."""
    match = re.match(r"^([A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\]):([0-9]{1,5})$", value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(_("'{v}' is not a mail relay like smtp.example.com:587").format(v=value))
    return value


def smtp_user(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._%+@\-]{0,127}$", value):
        raise ValueError(_("'{v}' is not a relay login name (letters, digits and . _ % + @ -)").format(v=value))
    return value


class MailSettings(Protocol):
    """The monitoring settings this module reads (the step's model has them)."""

    alert_email: str | None
    smtp_relay: str | None
    smtp_from: str | None
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool


def facts(wanted: bool) -> Iterator[Fact]:
    if wanted:
        yield from (FileInfo(CONFIG), FileInfo(DEFAULTS), FileInfo(PASSWORD_FILE))


def plan(s: MailSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
    """The password file, Alertmanager's address and its configuration (checked by amtool), then a restart."""
    changes: list[Change | Ok] = []
    if s.smtp_user and s.smtp_password:
        password = ctx.secret(s.smtp_password, "monitoring.smtp_password")
        changes += file_change(_("the mail relay's password, for Alertmanager only"), PASSWORD_FILE, password,
                               facts[FileInfo(PASSWORD_FILE)], mode="0640", group="prometheus")
    text = render("alertmanager.yml.j2", to=s.alert_email, relay=s.smtp_relay, sender=s.smtp_from or s.alert_email,
                  user=s.smtp_user, password_file=PASSWORD_FILE, starttls=str(s.smtp_starttls).lower())
    changes += chain(
        file_change(_("Alertmanager listens on {addr} only, with no cluster port").format(addr=LISTEN), DEFAULTS,
                    render("alertmanager.default.j2", listen=LISTEN), facts[FileInfo(DEFAULTS)]),
        file_change(_("Alertmanager mails alerts to {to} through {relay}").format(
            to=s.alert_email, relay=s.smtp_relay), CONFIG, text, facts[FileInfo(CONFIG)],
            check=cmd("amtool", "check-config", CONFIG)))
    yield from changes
    if any(isinstance(change, PutFile) for change in changes):
        yield RunCommand(_("restart {unit} to load it").format(unit=PACKAGE), sh(
            'systemctl reset-failed "$1" 2>/dev/null; systemctl restart "$1"', PACKAGE,
            display=f"systemctl restart {PACKAGE}"), after_change=True)


def check() -> RunCommand:
    """Alertmanager answers, and Prometheus sends it alerts (it lists it as an active Alertmanager)."""
    return RunCommand(_("Prometheus sends its alerts to Alertmanager"), sh(
        'for i in $(seq 30); do curl -fsS -m 2 "$1/-/ready" >/dev/null 2>&1 && curl -fsS -m 2 "$2" 2>/dev/null | '
        'grep -q "$3" && exit 0; sleep 0.5; done; echo "Prometheus does not list Alertmanager at $3" >&2; exit 1',
        f"http://{LISTEN}", "http://127.0.0.1:9090/api/v1/alertmanagers", LISTEN,
        display=f"curl -s http://127.0.0.1:9090/api/v1/alertmanagers | grep {LISTEN}"))


__all__ = ["CONFIG", "LISTEN", "PACKAGE", "PASSWORD_FILE", "check", "email_address", "facts", "plan", "relay",
           "smtp_user"]
