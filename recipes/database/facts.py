"""Host facts of database: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True, eq=False)
class PgState(Fact):
    """Does the role exist, its stored password verifier, does the database exist, and its owner."""

    role: str
    database: str

    kind = "pg"

    def command(self) -> Command:
        sql = ("select 'role', coalesce(rolpassword, '') from pg_authid where rolname = :'r' "
               "union all select 'db', pg_get_userbyid(datdba) from pg_database where datname = :'d';")
        return sh('printf "%s\\n" "$3" | runuser -u postgres -- psql -X -q -t -A -F "|" -v r="$1" -v d="$2"',
                  self.role, self.database, sql)

    def fresh(self) -> dict[str, object]:
        return {"reachable": True, "role": False, "verifier": None, "db_owner": None}

    def requires(self) -> tuple[str, ...]:
        return ("postgresql",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        state: dict[str, object] = {"reachable": status == 0, "role": False, "verifier": None, "db_owner": None}
        for line in out.splitlines():
            kind, _, value = line.partition("|")
            if kind == "role":
                state["role"], state["verifier"] = True, value or None
            elif kind == "db":
                state["db_owner"] = value
        return state


@dataclass(frozen=True, eq=False)
class MariaState(Fact):
    user: str
    database: str

    kind = "mariadb"

    def command(self) -> Command:
        sql = ("select 'user', authentication_string from mysql.user where User = '{u}' and Host = 'localhost' "
               "union all select 'db', schema_name from information_schema.schemata where schema_name = '{d}'; "
               "select 'grant', count(*) from mysql.db where User = '{u}' and Db = '{d}' and Host = 'localhost';")
        # names are validated identifiers ([a-z0-9_]), so they are safe inside SQL string literals
        return sh('mysql -N -B -e "$1"', sql.format(u=self.user, d=self.database))

    def fresh(self) -> dict[str, object]:
        return {"reachable": True, "user": False, "hash": None, "db": False, "grant": False}

    def requires(self) -> tuple[str, ...]:
        return ("mariadb-server",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        state: dict[str, object] = {"reachable": status == 0, "user": False, "hash": None, "db": False,
                                    "grant": False}
        for line in out.splitlines():
            kind, _, value = line.partition("\t")
            if kind == "user":
                state["user"], state["hash"] = True, value
            elif kind == "db":
                state["db"] = True
            elif kind == "grant":
                state["grant"] = value.strip() not in ("", "0")
        return state
