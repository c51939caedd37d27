"""Host facts of tls: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True, eq=False)
class Certificate(Fact):
    """Expiry and names of the certificate certbot keeps for a domain (None when there is none)."""

    domain: str

    kind = "cert"

    def command(self) -> Command:
        return sh('f="/etc/letsencrypt/live/$1/cert.pem"; [ -r "$f" ] || exit 0; '
                  'openssl x509 -in "$f" -noout -enddate -ext subjectAltName 2>/dev/null || '
                  'openssl x509 -in "$f" -noout -enddate -text | grep -A1 "Subject Alternative Name"', self.domain)

    def parse(self, out: str, status: int) -> dict[str, object] | None:
        match = re.search(r"notAfter=(.+)", out)
        if not match:
            return None
        expires = datetime.strptime(match.group(1).strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
        return {"expires": expires.isoformat(), "names": re.findall(r"DNS:([^,\s]+)", out)}


class Now(Fact):
    """The server's clock (certificate expiry is judged by the server's time, not the workstation's)."""

    kind = "now"

    def command(self) -> Command:
        return cmd("date", "-u", "+%s")

    def fresh(self) -> int:
        import time

        return int(time.time())

    def parse(self, out: str, status: int) -> int:
        return int(out.strip())


@dataclass(frozen=True, eq=False)
class Resolves(Fact):
    """Whether the server's own resolver knows the domain (getent: DNS, and /etc/hosts). Why in the plan: a new
    site's name that does not resolve yet stops the run at the preflight, after every step before it ran; the plan
    says so first, on a fresh server too."""

    domain: str

    kind = "resolves"

    def fresh(self) -> bool:
        return True  # a preview without a server cannot know: no warning rather than a false one

    def command(self) -> Command:
        return sh('getent ahosts "$1" >/dev/null && echo yes || echo no', self.domain)

    def parse(self, out: str, status: int) -> bool:
        return out.strip() == "yes"
