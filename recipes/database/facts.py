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


# ------------------------------------------------------------------------------------------ who may change the schema
# Scalar SQL for the privileges of the app's role (:'r') against the owner role (:'o'), inside the app's database:
# the fact reads each one (so the plan can say what is missing), the export guard asks them all at once.
PG_CHECKS = {
    "db_owner": "select pg_get_userbyid(datdba) from pg_database where datname = current_database()",
    # anything the app's role still owns here (tables, sequences, views, schemas, functions, types): the layout
    # of one role for everything, before the owner role took the schema
    "app_owns": ("select (select count(*) from pg_class where relowner = :'r'::regrole)"
                 " + (select count(*) from pg_namespace where nspowner = :'r'::regrole)"
                 " + (select count(*) from pg_proc where proowner = :'r'::regrole)"
                 " + (select count(*) from pg_type where typowner = :'r'::regrole and typtype in ('e', 'd', 'r'))"),
    # tables and sequences in public the app's role cannot read and write
    "missing": ("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'public' and ((c.relkind in ('r', 'p', 'v', 'm', 'f') and not ("
                "has_table_privilege(:'r', c.oid, 'SELECT') and has_table_privilege(:'r', c.oid, 'INSERT') and "
                "has_table_privilege(:'r', c.oid, 'UPDATE') and has_table_privilege(:'r', c.oid, 'DELETE')))"
                " or (c.relkind = 'S' and not has_sequence_privilege(:'r', c.oid, 'USAGE')))"),
    # what tables and sequences the owner creates later give the app's role: 4 + 3 privileges
    "defaults": ("select count(*) from pg_default_acl d cross join aclexplode(d.defaclacl) a"
                 " where d.defaclrole = :'o'::regrole and d.defaclnamespace = 'public'::regnamespace"
                 " and a.grantee = :'r'::regrole and ((d.defaclobjtype = 'r' and a.privilege_type in"
                 " ('SELECT', 'INSERT', 'UPDATE', 'DELETE')) or (d.defaclobjtype = 'S' and a.privilege_type in"
                 " ('USAGE', 'SELECT', 'UPDATE')))"),
    "create": "select has_schema_privilege(:'r', 'public', 'CREATE')",
}
PG_DEFAULTS = 7
# psql script: whether the owner role and the database exist, then (inside the database) each check
PG_PRIVILEGES = (
    "select exists(select 1 from pg_roles where rolname = :'o') as has_owner,\n"
    "  exists(select 1 from pg_roles where rolname = :'r') as has_app,\n"
    "  exists(select 1 from pg_database where datname = :'d') as has_db \\gset\n"
    "select 'owner|' || :'has_owner';\nselect 'db|' || :'has_db';\n"
    "\\if :has_db\n\\if :has_app\n\\if :has_owner\n\\connect :\"d\"\n"
    + "".join(f"select '{name}|' || ({sql});\n" for name, sql in PG_CHECKS.items())
    + "\\endif\n\\endif\n\\endif\n")
# the same, as one answer (t when nothing is left to do): the guard of the change that grants
PG_CONVERGED = (f"select ({PG_CHECKS['db_owner']}) = :'o' and ({PG_CHECKS['app_owns']}) = 0"
                f" and ({PG_CHECKS['missing']}) = 0 and ({PG_CHECKS['defaults']}) = {PG_DEFAULTS}"
                f" and not ({PG_CHECKS['create']});\n")


@dataclass(frozen=True, eq=False)
class PgPrivileges(Fact):
    """Who may change the app's tables: does the owner role exist, who owns the database, what the app's role
    still owns, which tables it cannot read and write, the owner's default privileges for it, and whether it
    may create tables in public. Counts are None when the database or a role does not exist yet."""

    role: str  # the app's role: reads and writes rows
    owner: str  # the owner role: the schema's, used by migrations only
    database: str

    kind = "pg-privileges"

    def command(self) -> Command:
        return sh('printf "%s\\n" "$4" | runuser -u postgres -- psql -X -q -t -A -v r="$1" -v o="$2" -v d="$3"',
                  self.role, self.owner, self.database, PG_PRIVILEGES)

    def fresh(self) -> dict[str, object]:
        return {"reachable": True, "owner": False, "db": False}

    def requires(self) -> tuple[str, ...]:
        return ("postgresql",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        state: dict[str, object] = {"reachable": status == 0, "owner": False, "db": False}
        for line in out.splitlines():
            name, _, value = line.partition("|")
            if name in ("owner", "db", "create"):
                state[name] = value.strip() in ("t", "on", "true")
            elif name in ("app_owns", "missing", "defaults") and value.strip().isdigit():
                state[name] = int(value)
            elif name == "db_owner":
                state[name] = value.strip()
        return state


def pg_converged(state: dict[str, object], owner: str) -> bool:
    """Nothing left to grant or hand over (PgPrivileges' answer)."""
    return (bool(state.get("owner")) and bool(state.get("db")) and state.get("db_owner") == owner
            and state.get("app_owns") == 0 and state.get("missing") == 0 and state.get("defaults") == PG_DEFAULTS
            and state.get("create") is False)


MARIA_DATA = ("DELETE", "INSERT", "SELECT", "UPDATE")
MARIA_OWNER = ("ALTER", "CREATE", "DELETE", "DROP", "INDEX", "INSERT", "REFERENCES", "SELECT", "UPDATE")


def maria_privileges_sql(user: str, owner: str, database: str) -> str:
    """The owner user's existence, and what each of the two may do in the database (names are validated
    identifiers, so they are safe inside SQL string literals)."""
    return (f"select 'owner', count(*) from mysql.user where User = '{owner}' and Host = 'localhost';\n"
            "select 'grant', GRANTEE, PRIVILEGE_TYPE from information_schema.SCHEMA_PRIVILEGES"
            f" where TABLE_SCHEMA = '{database}'"
            f" and GRANTEE in (\"'{user}'@'localhost'\", \"'{owner}'@'localhost'\");\n")


@dataclass(frozen=True, eq=False)
class MariaPrivileges(Fact):
    """Does the owner user exist, and the database privileges of the app's user and of the owner."""

    user: str
    owner: str
    database: str

    kind = "mariadb-privileges"

    def command(self) -> Command:
        return sh('mysql -N -B -e "$1"', maria_privileges_sql(self.user, self.owner, self.database))

    def fresh(self) -> dict[str, object]:
        return {"reachable": True, "owner": False, "app": [], "owner_privileges": []}

    def requires(self) -> tuple[str, ...]:
        return ("mariadb-server",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        app: set[str] = set()
        owner: set[str] = set()
        exists = False
        for line in out.splitlines():
            parts = line.split("\t")
            if parts[0] == "owner" and len(parts) == 2:
                exists = parts[1].strip() not in ("", "0")
            elif parts[0] == "grant" and len(parts) == 3:
                (owner if parts[1] == f"'{self.owner}'@'localhost'" else app).add(parts[2].strip())
        return {"reachable": status == 0, "owner": exists, "app": sorted(app), "owner_privileges": sorted(owner)}


def maria_converged(state: dict[str, object]) -> bool:
    owner = state.get("owner_privileges") or []
    return (bool(state.get("owner")) and tuple(state.get("app") or ()) == MARIA_DATA  # type: ignore[arg-type]
            and set(MARIA_OWNER) <= set(owner))  # type: ignore[arg-type]
