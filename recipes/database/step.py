"""Step database: a local PostgreSQL (or MariaDB) with the app's role and database, and migrations.

Why the password never travels: the server stores only a verifier (PostgreSQL: SCRAM-SHA-256; MariaDB:
the double-SHA1 native hash). The wizard computes that verifier locally from the secret, compares it with
the one stored, and when they differ sends the new verifier, never the password. A no-op run therefore
needs no password on the server at all, and nothing secret shows in `ps`, logs or the journal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shlex
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal
from urllib.parse import quote as urlquote

from pydantic import AfterValidator, Field

from recipes.database.facts import MariaState, PgState
from recipes.shared.apt import install_missing
from recipes.shared.common import (
    app_dirs,
    dir_facts,
    ensure_dirs,
    marker_facts,
    marker_pending,
    once_per_release,
    shown_command,
    working_release,
)
from recipes.shared.fields import CommandLine
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled
from wizard.engine.i18n import translator
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    file_change,
)
from wizard.engine.validators import Prompted, SecretRef

_ = translator(__file__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# MariaDB brings what Django's recommended driver (mysqlclient) needs to build when pip installs it: the client
# headers, pkg-config and a compiler; PostgreSQL's drivers come as wheels (psycopg[binary]).
ENGINES = {"postgresql": ("postgresql",),
           "mariadb": ("mariadb-server", "default-libmysqlclient-dev", "pkg-config", "build-essential")}
_PG, _MARIA = {"engine": "postgresql"}, {"engine": "mariadb"}  # which teaching checks apply
MIGRATIONS = {
    "django": "python manage.py migrate --noinput",
    "alembic": "alembic upgrade head",
    "flask": "flask db upgrade",
}


def sql_identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(_("'{v}' is not a database name: lower-case letters, digits and _, starting with a letter"
                           ).format(v=value))
    return value


SqlName = Annotated[str, AfterValidator(sql_identifier)]


# ------------------------------------------------------------------------------------------ verifiers


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802 / 7677)."""
    salt = salt if salt is not None else os.urandom(16)
    normalized = unicodedata.normalize("NFKC", password).encode()
    salted = hashlib.pbkdf2_hmac("sha256", normalized, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def scram_matches(password: str, verifier: str | None) -> bool:
    match = re.match(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$", verifier or "")
    if not match:
        return False
    again = scram_verifier(password, base64.b64decode(match.group(2)), int(match.group(1)))
    return hmac.compare_digest(again, verifier or "")


def mysql_native_hash(password: str) -> str:
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


# ------------------------------------------------------------------------------------------ facts


# ------------------------------------------------------------------------------------------ step


# Typed twice only when the run may set it (policy `set`): with `keep` the run only compares it with the role's.
PASSWORD_PROMPT = Prompted("Password of the app's database role", (
    "The app logs in to its database with it; only its hash reaches the server. Kept in memory for the plan and "
    "the run only, never written anywhere."), new=lambda settings: settings.password_policy == "set")


class DatabaseSettings(StepSettings):
    engine: Literal["postgresql", "mariadb"] = Field("postgresql", description="Database server, from Debian packages.")
    name: SqlName | None = Field(None, description="Database name; empty = the app name (with _ for -).")
    user: SqlName | None = Field(None, description="Database role/user; empty = the database name.")
    password: Annotated[SecretRef, PASSWORD_PROMPT] = Field(description=(
        "The role's password: env:NAME, file:/path or prompt."))
    password_policy: Literal["set", "keep"] = Field("set", description=(
        "'set' makes the role's password match the secret; 'keep' never changes it and stops if they differ."))
    migrate: Literal["none", "django", "alembic", "flask", "command"] = Field("none", description=(
        "Migrations to run whenever a new release goes live."))
    migrate_command: CommandLine | None = Field(None, description=(
        "With migrate: command, the command to run in the release directory (the venv is first on PATH)."))

    def db_name(self, ctx: Context) -> str:
        return self.name or ctx.app.replace("-", "_")

    def db_user(self, ctx: Context) -> str:
        return self.user or self.db_name(ctx)


class Database(Step):
    name = "database"
    order = 500
    title = "Database"
    Settings = DatabaseSettings
    teaching = Teaching(
        why="The app gets its own database and a role that owns only that database, with a password from your "
            "secret store. The connection string goes to an env file only the app user can read. Migrations "
            "bring the tables up to date each time a new release goes live, before it takes traffic. On Debian, "
            "MySQL is MariaDB: engine mariadb installs it, and the `mysql` client talks to it.",
        verify=[
            Check("pg_lsclusters", note="the PostgreSQL cluster, and whether it is online", when=_PG),
            Check("psql -l", user="postgres", note="the databases and their owners", when=_PG),
            Check("""sh -c '. /srv/APP/shared/env/database.env && psql "$DATABASE_URL" -c "select current_user, """
                  """current_database()"'""", user="USER", note="the app's own DATABASE_URL works", when=_PG),
            Check("systemctl status mariadb", when=_MARIA),
            Check("mysql -e 'SHOW DATABASES'", root=True, when=_MARIA,
                  note="root logs in to MariaDB through its socket, without a password"),
            Check("""mysql -e "SHOW GRANTS FOR 'DB_USER'@'localhost'\"""", root=True, when=_MARIA),
            Check("ls -l /srv/APP/shared/env", root=True, note="the env files: root's, readable by USER only"),
        ],
        troubleshoot=[
            ("FATAL:  password authentication failed for user",
             "The role's password differs from the secret. With password_policy: set, apply fixes it; with keep, "
             "give the right secret."),
            ("psycopg2.OperationalError: connection to server on socket failed",
             "PostgreSQL is not running: `pg_lsclusters` shows it, `sudo journalctl -u 'postgresql@*'` says why."),
            ("django.db.utils.ProgrammingError: relation does not exist",
             "Migrations did not run: check migrate in the recipe and the step's output."),
            ("A tutorial says MySQL, and this server runs MariaDB",
             "On Debian, MySQL is MariaDB: the mariadb-server package, the mariadb service, and the `mysql` client "
             "(also called `mariadb`) that talks to it. Django's MySQL backend and mysqlclient work with it as "
             "they are; DATABASE_URL starts with mysql://. As root, `sudo mysql` logs in without a password."),
        ],
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, DatabaseSettings)
        return {"DB_NAME": settings.db_name(ctx), "DB_USER": settings.db_user(ctx)}

    def _env_file(self, ctx: Context) -> str:
        return f"{ctx.env_dir}/database.env"

    def facts(self, s: DatabaseSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        packages = PackagesInstalled(ENGINES[s.engine])
        yield packages
        yield from dir_facts(app_dirs(ctx))
        yield FileInfo(self._env_file(ctx))
        if s.migrate != "none":
            yield from marker_facts(ctx, "migrated")
        if packages in known and all(known[packages].values()):
            if s.engine == "postgresql":
                yield PgState(s.db_user(ctx), s.db_name(ctx))
            else:
                yield MariaState(s.db_user(ctx), s.db_name(ctx))

    def plan(self, s: DatabaseSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        packages = ENGINES[s.engine]
        install = install_missing(packages, facts[PackagesInstalled(packages)])
        if install:
            yield install
            return  # the role and database are planned once the server runs
        password = ctx.secret(s.password, "database.password")
        db, user = s.db_name(ctx), s.db_user(ctx)
        if s.engine == "postgresql":
            yield from self._plan_postgres(s, facts[PgState(user, db)], password, db, user)
            scheme, port = "postgresql", 5432
        else:
            yield from self._plan_mariadb(s, facts[MariaState(user, db)], password, db, user)
            scheme, port = "mysql", 3306
        yield from ensure_dirs(app_dirs(ctx), facts)
        quoted = password.derive(urlquote(password.reveal(), safe=""), "url")
        options = "?charset=utf8mb4" if s.engine == "mariadb" else ""  # MariaDB's utf8 is not all of Unicode
        content = Secret.join("database.env", f"# Managed by deploy-wizard (step database).\nDATABASE_URL={scheme}://"
                              f"{user}:", quoted, f"@127.0.0.1:{port}/{db}{options}\n")
        path = self._env_file(ctx)
        yield from file_change(_("write DATABASE_URL to {path} (only {user} can read it)").format(
            path=path, user=ctx.user), path, content, facts[FileInfo(path)], mode="0640", owner="root",
            group=ctx.user)
        yield from self._plan_migrations(s, facts, ctx)

    def _may_change_password(self, s: DatabaseSettings, user: str) -> None:
        if s.password_policy == "keep":
            raise PlanError(_("the password of database role {user} differs from the secret {ref}, and "
                              "password_policy is keep: give the right secret, or use password_policy: set").format(
                                  user=user, ref=s.password))

    def _plan_postgres(self, s: DatabaseSettings, state: dict[str, object], password: Secret, db: str,
                       user: str) -> Iterator[Change | Ok]:
        if not state["reachable"]:
            raise PlanError(_("PostgreSQL does not answer: check `systemctl status postgresql`"))
        verifier = state["verifier"]
        if not state["role"] or not scram_matches(password.reveal(), verifier if isinstance(verifier, str) else None):
            if state["role"]:
                self._may_change_password(s, user)
            # Only the SCRAM verifier travels, and on stdin: the password never reaches the server.
            verb = "alter" if state["role"] else "create"
            literal = password.derive(f"'{scram_verifier(password.reveal())}'", "pg_literal")
            sql = Secret.join("database role SQL", f"{verb} role \"{user}\" login password ", literal, ";\n")
            why = (_("set the password of role {user} to the secret") if state["role"]
                   else _("create the database role {user}")).format(user=user)
            yield RunCommand(why, cmd("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                      stdin=sql, display=f"runuser -u postgres -- psql -c "
                                                                f"\"{verb} role {user} login password '***'\""),
                             skip_if=sh('printf "%s\\n" "select 1 from pg_roles where rolname = :\'r\';" | '
                                        'runuser -u postgres -- psql -X -tA -v r="$1" | grep -qx 1', user)
                             if verb == "create" else None)
        else:
            yield Ok(_("role {user} exists with the right password").format(user=user))
        if state["db_owner"] is None:
            yield RunCommand(_("create the database {db} owned by {user}").format(db=db, user=user),
                             sh('runuser -u postgres -- createdb --owner="$1" -- "$2"', user, db,
                                display=f"runuser -u postgres -- createdb --owner={shlex.quote(user)} -- "
                                        f"{shlex.quote(db)}"),
                             skip_if=sh('runuser -u postgres -- psql -X -tA -l | cut -d"|" -f1 | grep -qx "$1"', db))
        elif state["db_owner"] != user:
            yield RunCommand(_("give the database {db} to {user}").format(db=db, user=user), sh(
                'printf "%s\\n" "alter database :\\"d\\" owner to :\\"r\\";" | '
                'runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v r="$1" -v d="$2"', user, db), skip_if=sh(
                'printf "%s\\n" "select pg_get_userbyid(datdba) from pg_database where datname = :\'d\';" | '
                'runuser -u postgres -- psql -X -tA -v d="$2" | grep -qx "$1"', user, db))
        else:
            yield Ok(_("database {db} exists").format(db=db))

    def _plan_mariadb(self, s: DatabaseSettings, state: dict[str, object], password: Secret, db: str,
                      user: str) -> Iterator[Change | Ok]:
        if not state["reachable"]:
            raise PlanError(_("MariaDB does not answer: check `systemctl status mariadb`"))
        wanted = mysql_native_hash(password.reveal())
        if not state["user"] or state["hash"] != wanted:
            if state["user"]:
                self._may_change_password(s, user)
            verb = "ALTER" if state["user"] else "CREATE"
            clause = password.derive(f"PASSWORD '{wanted}'", "mysql_literal")
            sql = Secret.join("database user SQL", f"{verb} USER '{user}'@'localhost' IDENTIFIED BY ", clause, ";\n")
            why = (_("set the password of role {user} to the secret") if state["user"]
                   else _("create the database user {user}")).format(user=user)
            shown = f"mysql -e \"{verb} USER '{user}'@'localhost' IDENTIFIED BY PASSWORD '***'\""
            yield RunCommand(why, cmd("mysql", stdin=sql, display=shown), skip_if=sh(
                '[ "$(mysql -N -B -e "SELECT COUNT(*) FROM mysql.user WHERE User=\'$1\' AND Host=\'localhost\'")" '
                '= 1 ]',
                user) if verb == "CREATE" else None)
        else:
            yield Ok(_("role {user} exists with the right password").format(user=user))
        if not state["db"] or not state["grant"]:
            sql = (f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;\n"
                   f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';\n")
            yield RunCommand(_("create the database {db} owned by {user}").format(db=db, user=user),
                             cmd("mysql", stdin=sql, display=f"mysql -e \"{' '.join(sql.split())}\""), skip_if=sh(
                                 'mysql -e "USE \\`$2\\`" && mysql -N -B -e "SHOW GRANTS FOR \'$1\'@\'localhost\'" | '
                                 'grep -qF "ON \\`$2\\`.*"', user, db))
        else:
            yield Ok(_("database {db} exists").format(db=db))

    def _plan_migrations(self, s: DatabaseSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        if s.migrate == "none":
            return
        command = s.migrate_command if s.migrate == "command" else MIGRATIONS[s.migrate]
        if not command:
            raise PlanError(_("migrate: command needs migrate_command"))
        release = marker_pending(facts, ctx, "migrated")
        if release is None:
            live = working_release(facts, ctx)
            yield Ok(_("migrations ran for release {id}").format(id=live) if live else _("no release to migrate yet"))
            return
        yield from once_per_release(
            ctx, release, "migrated", command, timeout=3600,
            why=_("run the migrations for release {id}: {command}").format(id=release, command=shown_command(command)),
            remember=_("remember that release {id} is migrated").format(id=release))
