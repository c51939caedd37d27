"""Two database roles: the app's reads and writes rows, the owner's changes the schema (the tutorial's 4.3,
"权限管理", applied to the database).

Why: with one role for everything, an SQL injection in the app can DROP TABLE or ALTER it, and so can anyone who
reads the app's DATABASE_URL. Here the app's role (the recipe's `user`, the one in DATABASE_URL) may SELECT,
INSERT, UPDATE and DELETE and use the sequences, nothing more; the tables belong to an owner role
(<user>_owner), and only migrations run as it.

The owner's password is born on the server and never leaves it: root generates it, sets it, and keeps the
owner's DATABASE_URL in a file only root reads (shared/env/database-owner.env). A migration runs as the app
user like before, but root hands it that URL in its environment for that one run; the running app never sees
it, and a flaw in the app cannot read it.

A server set up with one role converges without losing a row: the owner role is created, the database and
everything the app's role owned in it are handed to the owner (REASSIGN OWNED, in one transaction with the
grants), and the app keeps its role, password and DATABASE_URL, so it needs no restart. MariaDB has no owners:
the owner user gets ALL on the database, the app's user exactly SELECT, INSERT, UPDATE, DELETE.
"""

from __future__ import annotations

from collections.abc import Iterator

from recipes.database.facts import MARIA_DATA, PG_CONVERGED, maria_converged, pg_converged
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Ok, RunCommand

_ = translator(__file__)

# A password of 48 hex digits (192 bits) from the kernel: safe in a URL, an SQL literal and a shell word.
SHOWN_PASSWORD = "pw=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \\n')"
NEW_PASSWORD = SHOWN_PASSWORD + "; [ ${#pw} -eq 48 ] || exit 1"
# $1 the URL file, $2 the owner role, $3 the database; the password reaches psql on stdin only (never argv)
PG_OWNER = (
    'set -e; umask 077; ' + NEW_PASSWORD + '; f="$1"; o="$2"; d="$3"\n'
    'printf "DATABASE_URL=postgresql://%s:%s@127.0.0.1:5432/%s\\n" "$o" "$pw" "$d" > "$f.new"\n'
    "{ printf '\\\\set p %s\\n' \"$pw\"; cat <<'SQL'\n"
    "set log_statement = 'none';\n"
    "select format('create role %I', :'o') where not exists (select 1 from pg_roles where rolname = :'o') \\gexec\n"
    "alter role :\"o\" login password :'p';\n"
    "SQL\n"
    '} | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v o="$o" || { rm -f "$f.new"; exit 1; }\n'
    'mv -f "$f.new" "$f"\n')
MARIA_OWNER = (
    'set -e; umask 077; ' + NEW_PASSWORD + '; f="$1"; o="$2"; d="$3"\n'
    'printf "DATABASE_URL=mysql://%s:%s@127.0.0.1:3306/%s?charset=utf8mb4\\n" "$o" "$pw" "$d" > "$f.new"\n'
    "printf \"CREATE USER IF NOT EXISTS '%s'@'localhost';\\nALTER USER '%s'@'localhost' IDENTIFIED BY '%s';\\n\" "
    '"$o" "$o" "$pw" | mysql || { rm -f "$f.new"; exit 1; }\n'
    'mv -f "$f.new" "$f"\n')
# Inside the database, one transaction: the app never sees a moment without its grants.
PG_GRANTS = """begin;
alter database :"d" owner to :"o";
reassign owned by :"r" to :"o";
revoke create on schema public from public;
revoke create on schema public from :"r";
grant usage on schema public to :"r";
grant select, insert, update, delete on all tables in schema public to :"r";
grant usage, select, update on all sequences in schema public to :"r";
alter default privileges for role :"o" in schema public grant select, insert, update, delete on tables to :"r";
alter default privileges for role :"o" in schema public grant usage, select, update on sequences to :"r";
commit;
"""


def owner_role(user: str) -> str:
    """The owner role's name: the app's role with _owner (within PostgreSQL's 63 characters)."""
    return f"{user[:57]}_owner"


def _in_database(sql: str, role: str, owner: str, db: str, *, check: bool = False) -> Command:
    """psql as postgres inside the app's database, the names as psql variables (never spliced into SQL); shown
    as the SQL with the names in place."""
    flags = "-tA" if check else "-q -v ON_ERROR_STOP=1"
    tail = " | grep -qx t" if check else ""
    shown = " ".join(sql.replace(':"d"', db).replace(':"o"', owner).replace(':"r"', role).split())
    return sh(f'printf "%s\\n" "$4" | runuser -u postgres -- psql -X {flags} -v r="$1" -v o="$2" -v d="$3" -d "$3"'
              + tail, role, owner, db, sql, display=f'runuser -u postgres -- psql -d {db} -c "{shown}"')


def _owner(state: dict[str, object], has_url: bool, url_file: str, owner: str, command: Command,
           skip_if: Command) -> Iterator[Change | Ok]:
    """The owner role with a password only root knows, and its DATABASE_URL in a file only root reads."""
    if state.get("owner") and has_url:
        yield Ok(_("the owner role {owner} exists; its DATABASE_URL is in {path}, for root only").format(
            owner=owner, path=url_file))
        return
    yield RunCommand(
        _("create the owner role {owner} for migrations, with a password born on the server and kept in {path} "
          "(root's only)").format(owner=owner, path=url_file), command, skip_if=skip_if)


def pg_owner(state: dict[str, object], has_url: bool, url_file: str, owner: str, db: str) -> Iterator[Change | Ok]:
    yield from _owner(state, has_url, url_file, owner, sh(PG_OWNER, url_file, owner, db, display=(
        f"{SHOWN_PASSWORD} && runuser -u postgres -- psql -c \"create role {owner} login password '$pw'\" && "
        f"echo \"DATABASE_URL=postgresql://{owner}:$pw@127.0.0.1:5432/{db}\" > {url_file}")),
        sh('[ -f "$1" ] && printf "%s\\n" "select 1 from pg_roles where rolname = :\'o\';" | '
           'runuser -u postgres -- psql -X -tA -v o="$2" | grep -qx 1', url_file, owner))


def pg_grants(state: dict[str, object], role: str, owner: str, db: str) -> Iterator[Change | Ok]:
    """The owner owns the database and what is in it; the app's role reads and writes rows, in the tables there
    are and the ones migrations create later (default privileges)."""
    if pg_converged(state, owner):
        yield Ok(_("{role} reads and writes the data of {db}; its tables belong to {owner}").format(
            role=role, db=db, owner=owner))
        return
    upgrade = bool(state.get("app_owns")) or state.get("db_owner") == role
    why = (_("hand database {db} and its tables from {role} to {owner} without touching a row; {role} keeps "
             "reading and writing the data, and its DATABASE_URL") if upgrade else
           _("let {role} read and write the data of {db}, now and in every table {owner} creates, and nothing "
             "else"))
    yield RunCommand(why.format(db=db, role=role, owner=owner), _in_database(PG_GRANTS, role, owner, db),
                     skip_if=_in_database(PG_CONVERGED, role, owner, db, check=True))


def maria_owner(state: dict[str, object], has_url: bool, url_file: str, owner: str, db: str) -> Iterator[Change | Ok]:
    yield from _owner(state, has_url, url_file, owner, sh(MARIA_OWNER, url_file, owner, db, display=(
        f"{SHOWN_PASSWORD} && mysql -e \"CREATE USER IF NOT EXISTS '{owner}'@'localhost'; ALTER USER "
        f"'{owner}'@'localhost' IDENTIFIED BY '$pw'\" && echo \"DATABASE_URL=mysql://{owner}:$pw@127.0.0.1:3306/"
        f"{db}?charset=utf8mb4\" > {url_file}")),
        sh('[ -f "$1" ] && [ "$(mysql -N -B -e "SELECT COUNT(*) FROM mysql.user WHERE User=\'$2\' AND '
           'Host=\'localhost\'")" = 1 ]', url_file, owner))


def maria_grants(state: dict[str, object], user: str, owner: str, db: str) -> Iterator[Change | Ok]:
    """ALL on the database for the owner; exactly the four data privileges for the app's user (its other
    privileges go: the GRANT first, so the REVOKE always has a grant to take from)."""
    if maria_converged(state):
        yield Ok(_("{role} reads and writes the data of {db}; its tables belong to {owner}").format(
            role=user, db=db, owner=owner))
        return
    data = ", ".join(MARIA_DATA)
    sql = (f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{owner}'@'localhost';\n"
           f"GRANT {data} ON `{db}`.* TO '{user}'@'localhost';\n"
           f"REVOKE ALL PRIVILEGES ON `{db}`.* FROM '{user}'@'localhost';\n"
           f"GRANT {data} ON `{db}`.* TO '{user}'@'localhost';\n")
    yield RunCommand(_("let {role} read and write the data of {db} and nothing else; {owner} may change its "
                       "tables").format(role=user, db=db, owner=owner),
                     cmd("mysql", stdin=sql, display=f"mysql -e \"{' '.join(sql.split())}\""),
                     skip_if=sh('[ "$(mysql -N -B -e "$1")" = 1 ]', maria_converged_sql(user, owner, db)))


def maria_converged_sql(user: str, owner: str, db: str) -> str:
    wanted = ",".join(MARIA_DATA)
    return (f"SELECT (SELECT COUNT(*) FROM mysql.user WHERE User = '{owner}' AND Host = 'localhost') = 1"
            f" AND (SELECT GROUP_CONCAT(PRIVILEGE_TYPE ORDER BY PRIVILEGE_TYPE) FROM information_schema."
            f"SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = '{db}' AND GRANTEE = \"'{user}'@'localhost'\") = '{wanted}'"
            f" AND (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = '{db}' AND"
            f" GRANTEE = \"'{owner}'@'localhost'\" AND PRIVILEGE_TYPE IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE',"
            f" 'CREATE', 'DROP', 'ALTER', 'INDEX', 'REFERENCES')) = 9")
