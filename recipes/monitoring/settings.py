"""The monitoring step's settings and their validators: every value that reaches a config file is checked here.

Why a module of its own: the settings grew with the central Prometheus and the alert mail, and the step's plan
reads better beside its teaching than beside forty lines of field declarations.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from recipes.monitoring.alerting import email_address, relay
from recipes.monitoring.alerting import smtp_user as relay_login
from recipes.monitoring.central import central_address
from recipes.shared.claims import Claim
from wizard.engine.i18n import translator
from wizard.engine.step import StepSettings
from wizard.engine.validators import SecretRef

_ = translator(__file__)


def listen_address(value: str) -> str:
    match = re.match(r"^(127\.0\.0\.1|0\.0\.0\.0|\[::1\]|\[::\]|[0-9.]+):([0-9]{1,5})$", value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(_("'{v}' is not an address:port like 127.0.0.1:9100").format(v=value))
    return value


def size(value: str) -> str:
    if not re.match(r"^[1-9][0-9]{0,5}[KMG]$", value):
        raise ValueError(_("'{v}' is not a size like 500M or 2G").format(v=value))
    return value


def interval(value: str) -> str:
    if not re.match(r"^[1-9][0-9]{0,3}(s|min|h)$", value):
        raise ValueError(_("'{v}' is not an interval like 30s, 5min or 1h").format(v=value))
    return value


def journal_cap(mine: Claim, theirs: dict[str, Claim]) -> str:
    """The journal's size cap serves every app on the server: the largest any of them asks for."""
    sizes = [str(c["journald_max_use"]) for c in [mine, *theirs.values()] if c.get("journald_max_use")]
    return max(sizes, key=lambda text: int(text[:-1]) * 1024 ** "KMG".index(text[-1]))


def scrape_jobs(mine: Claim, theirs: dict[str, Claim]) -> dict[str, str]:
    """What Prometheus scrapes: every exporter any app on the server asks for."""
    jobs: dict[str, str] = {}
    for claim in [*theirs.values(), mine]:
        jobs.update(claim.get("scrape") or {})
    return dict(sorted(jobs.items()))


class MonitoringSettings(StepSettings):
    node_exporter: bool = Field(True, description="Export CPU, memory, disk and network metrics (port 9100).")
    node_exporter_listen: Annotated[str, AfterValidator(listen_address)] = Field("127.0.0.1:9100", description=(
        "Where the metrics listen; localhost keeps them private (scrape through an SSH tunnel or Prometheus)."))
    prometheus: bool = Field(False, description=(
        "Also run a Prometheus server here (127.0.0.1:9090) that scrapes the exporters."))
    nginx_exporter: bool = Field(False, description=(
        "Export nginx's connection metrics (127.0.0.1:9113), read from a status page on a local socket."))
    postgres_exporter: bool = Field(False, description=(
        "Export PostgreSQL's metrics (127.0.0.1:9187), read by a role that can only see statistics."))
    app_metrics: bool = Field(False, description=(
        "The app's own metrics: mtail reads the site's nginx access log (request rate, error ratio, a response-time "
        "histogram, 127.0.0.1:3903) and the blackbox exporter asks its health URL with the site's name "
        "(127.0.0.1:9115); with prometheus, alert rules for them."))
    logrotate: bool = Field(True, description="Rotate the app's log files in /var/log/<app>/.")
    logrotate_keep: int = Field(14, ge=1, le=365, description="Rotated log files to keep.")
    journald_max_use: Annotated[str, AfterValidator(size)] = Field("500M", description=(
        "Keep the system journal across reboots, up to this size."))
    health_check: bool = Field(True, description="Check the site on a timer and log failures to the journal.")
    health_interval: Annotated[str, AfterValidator(interval)] = Field("5min", description="How often.")
    central_prometheus: Annotated[str, AfterValidator(central_address)] | None = Field(None, description=(
        "The address of a central Prometheus that scrapes this server (a server cannot report its own death): "
        "every exporter then listens on all addresses, the firewall lets in this address alone, and its scrape "
        "config is written to /etc/prometheus/central-scrape.yml (`deploy-wizard verify -v` prints it). Needs "
        "the firewall step."))
    alert_email: Annotated[str, AfterValidator(email_address)] | None = Field(None, description=(
        "Mail the alerts to this address (needs prometheus): Alertmanager on this server sends them through "
        "smtp_relay."))
    smtp_relay: Annotated[str, AfterValidator(relay)] | None = Field(None, description=(
        "The mail relay that sends the alert mail, host:port (smtp.example.com:587)."))
    smtp_from: Annotated[str, AfterValidator(email_address)] | None = Field(None, description=(
        "The alert mail's sender; empty = alert_email."))
    smtp_user: Annotated[str, AfterValidator(relay_login)] | None = Field(None, description=(
        "The login at the relay; empty = send without logging in."))
    smtp_password: SecretRef | None = Field(None, description=(
        "The relay's password: env:NAME, file:/path or prompt (kept in a file only Alertmanager reads)."))
    smtp_starttls: bool = Field(True, description=(
        "Require STARTTLS with the relay; turn it off only for a relay on this server or your own network."))

    @model_validator(mode="after")
    def _mail_complete(self) -> MonitoringSettings:
        if self.alert_email and not (self.prometheus and self.smtp_relay):
            raise ValueError(_("alert_email needs prometheus on (it fires the alerts) and smtp_relay (the relay "
                               "that sends the mail)"))
        if self.smtp_user and not self.smtp_password:
            raise ValueError(_("smtp_user needs smtp_password (the relay's password: env:NAME, file:/path or "
                               "prompt)"))
        return self

    @property
    def central(self) -> bool:
        """Whether a central Prometheus scrapes this server (for the teaching's checks)."""
        return self.central_prometheus is not None


__all__ = ["MonitoringSettings", "interval", "journal_cap", "listen_address", "scrape_jobs", "size"]
