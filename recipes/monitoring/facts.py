"""Host facts of monitoring: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact

PG_MONITOR_ROLE = "prometheus"  # the user Debian's exporter runs as: peer authentication needs the same name
ROLE_IN_PG_MONITOR = ("select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member "
                      "join pg_roles g on g.oid = m.roleid where r.rolname = :'r' and r.rolcanlogin "
                      "and g.rolname = 'pg_monitor';")
ASK_POSTGRES = 'printf "%s\\n" "$2" | runuser -u postgres -- psql -X -q -t -A -v r="$1"'


@dataclass(frozen=True, eq=False)
class PgMonitorRole(Fact):
    """Whether the exporter's role exists, may log in, and is in pg_monitor (read-only statistics)."""

    kind = "pg-monitor-role"

    def command(self) -> Command:
        return sh(ASK_POSTGRES, PG_MONITOR_ROLE, ROLE_IN_PG_MONITOR)

    def fresh(self) -> bool:
        return False

    def requires(self) -> tuple[str, ...]:
        return ("postgresql",)

    def parse(self, out: str, status: int) -> bool:
        return status == 0 and out.strip() == "1"


@dataclass(frozen=True, eq=False)
class CentralView(Fact):
    """What a central Prometheus at `address` meets here: ufw's added rules, and the address this server reaches
    it from (`ip route get`: the source address it would use, on a private network the one it is reached by)."""

    address: str

    kind = "central"

    def command(self) -> Command:
        return sh('ufw show added 2>/dev/null | grep "^ufw " || true; echo "@route"; ip -o route get "$1" 2>/dev/null'
                  ' || true', self.address)

    def fresh(self) -> dict[str, object]:
        return {"rules": set(), "source": ""}  # "": not known before the server is asked (None: no route)

    def parse(self, out: str, status: int) -> dict[str, object]:
        rules, _sep, route = out.partition("@route")
        source = re.search(r"\bsrc (\S+)", route)
        return {"rules": {line.removeprefix("ufw ").strip() for line in rules.splitlines() if line.startswith("ufw ")},
                "source": source.group(1) if source else None}
