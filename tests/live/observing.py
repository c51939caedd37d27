"""Helpers of tests/live/test_observe.py (kept apart so the module stays short): the recipe's steps, the SMTP sink
standing in for the operator's mail relay, and small questions to the server."""

from __future__ import annotations

import json

from tests.live.conftest import on_box

HOST = "observe.example.test"
ALERT_TO = "ops@observe.example.test"


def steps(git_url: str, central: str = "") -> str:
    """The recipe's steps; with `central`, a central Prometheus at that address scrapes the exporters."""
    return f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates, python3-aiosmtpd]
  deploy_user:
    name: observe
  python: {{}}
  code:
    repo: {git_url}/observe.git
  database:
    engine: postgresql
    password: env:OBSERVE_DB_PASSWORD
    migrate: command
    migrate_command: python migrate.py
  app_server:
    module: app:app
    workers: 2
    health_path: /health
    watch: 3
  nginx:
    server_names: [{HOST}]
  firewall: {{}}
  monitoring:
    prometheus: true
    app_metrics: true
    alert_email: {ALERT_TO}
    smtp_relay: 127.0.0.1:2525
    smtp_user: alerts
    smtp_password: env:OBSERVE_SMTP_PASSWORD
    smtp_starttls: false
""" + (f"    central_prometheus: {central}\n" if central else "")


# A real SMTP server standing in for the operator's relay: Debian's python3-aiosmtpd on the server, which accepts a
# mail only after a login as "alerts" with the relay's password (AUTH over plain SMTP: a relay on this server,
# smtp_starttls off), and keeps every mail it accepts, with the login it came with, in /root/mails/.
SINK = """
import asyncio, pathlib, signal, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

MAILS = pathlib.Path("/root/mails")
MAILS.mkdir(exist_ok=True)

def login(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"alerts" and data.password == sys.argv[1].encode()
    return AuthResult(success=ok, auth_data=data.login if ok else None)

class Keep:
    async def handle_DATA(self, server, session, envelope):
        name = MAILS / f"{len(list(MAILS.iterdir())):03d}.eml"
        head = f"X-Sink-Login: {session.auth_data.decode()}\\nX-Sink-To: {','.join(envelope.rcpt_tos)}\\n"
        name.write_bytes(head.encode() + envelope.content)
        return "250 kept"

# PLAIN only: aiosmtpd's LOGIN asks "User Name" where relays ask "Username:", which Alertmanager expects
Controller(Keep(), hostname="127.0.0.1", port=2525, authenticator=login, auth_required=True,
           auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]).start()
signal.pause()
"""


def mails(box) -> list[str]:
    listed = on_box(box, "cat /root/mails/*.eml 2>/dev/null; true").stdout
    return [part for part in listed.split("X-Sink-Login: ") if part.strip()]


def promql_api(box, path: str) -> dict:
    answer = on_box(box, f"curl -fsS http://127.0.0.1:9090/api/v1/{path}")
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)["data"]


def listening_on(box, port: str) -> list[str]:
    rows = [line.split() for line in on_box(box, "ss -ltnH").stdout.splitlines()]
    return [row[3] for row in rows if row and row[3].endswith(f":{port}")]
