"""Step database: a local PostgreSQL (or MariaDB) with the app's role and database, and migrations.

The app's own role and its password: login.py (only a verifier of the password travels); the owner role and
who may do what: roles.py; how migrations run: migrations.py.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal
from urllib.parse import quote as urlquote

from pydantic import AfterValidator, Field

from recipes.database import login, roles
from recipes.database.facts import MariaPrivileges, MariaState, PgPrivileges, PgState
from recipes.database.migrations import migration_command, run_now
from recipes.database.roles import owner_role
from recipes.shared.apt import install_missing
from recipes.shared.common import (
    app_dirs,
    dir_facts,
    done_for,
    ensure_dirs,
    marker_facts,
    marker_pending,
    once_per_release,
    shown_command,
    working_release,
)
from recipes.shared.data import pre_migration_dump
from recipes.shared.fields import CommandLine
from recipes.shared.meanings import Probe
from wizard.engine.commands import Command, Secret, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled, PathInfo
from wizard.engine.hooks import LogSource
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
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
# MariaDB brings what Django's driver (mysqlclient) needs to build: headers, pkg-config, a compiler (psycopg: wheels).
# PostgreSQL without its Recommends (sysstat; e2fsprogs, for a chattr whose failure initdb ignores; JSON::XS): 14
# packages less. The one it needs, logrotate (its /etc/logrotate.d/postgresql-common), is named. MariaDB: not audited.
# EARLY (installed behind the steps before it, wizard.engine.behind): the server Debian starts listens on
# localhost only (listen_addresses, bind)
RECOMMENDS, EARLY = {"postgresql": False, "mariadb": True}, True
ENGINES = {"postgresql": ("postgresql", "logrotate"),
           "mariadb": ("mariadb-server", "default-libmysqlclient-dev", "pkg-config", "build-essential")}
_PG, _MARIA = {"engine": "postgresql"}, {"engine": "mariadb"}  # which teaching checks apply
_PG_TWO, _MARIA_TWO = {**_PG, "roles": "two"}, {**_MARIA, "roles": "two"}


def sql_identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(_("'{v}' is not a database name: lower-case letters, digits and _, starting with a letter"
                           ).format(v=value))
    return value


SqlName = Annotated[str, AfterValidator(sql_identifier)]


# ------------------------------------------------------------------------------------------ step


# Typed twice with either policy: `set` may change the role's password to it, and `keep` creates a role that is
# not there yet with it (only the server knows which, and it is asked before any connection); a typo would
# become the password. With `keep` and a role already there, the run compares it and stops if it differs.
PASSWORD_PROMPT = Prompted("Password of the app's database role", (
    "The app logs in to its database with it; only its hash reaches the server. Kept in memory for the plan and "
    "the run only, never written anywhere."), new=True)


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
    schema_changes: Literal["auto", "migrations", "app"] = Field("auto", description=(
        "Who may change the tables. 'migrations': only the migrations, run as an owner role (<user>_owner) whose "
        "password only root on the server knows; the app's role reads and writes rows, nothing more. 'app': the "
        "app's role owns the database (an app that creates its own tables as it starts). 'auto': migrations "
        "when migrate is set, else app."))

    def db_name(self, ctx: Context) -> str:
        return self.name or ctx.app.replace("-", "_")

    def db_user(self, ctx: Context) -> str:
        return self.user or self.db_name(ctx)

    @property
    def roles(self) -> Literal["two", "one"]:
        """Two roles (the owner's changes the schema, the app's the data) or one for both."""
        if self.schema_changes == "auto":
            return "two" if self.migrate != "none" else "one"
        return "two" if self.schema_changes == "migrations" else "one"

    def db_owner(self, ctx: Context) -> str:
        """The role that owns the database and its tables: the owner role, or with one role the app's."""
        return owner_role(self.db_user(ctx)) if self.roles == "two" else self.db_user(ctx)


class Database(Step):
    name = "database"
    order = 500
    title = "Database"
    Settings = DatabaseSettings
    release_part = True
    teaching = Teaching(
        why="The app gets its own database and a role with a password from your secret store; the connection "
            "string goes to an env file only the app user can read. Migrations bring the tables up to date each "
            "time a new release goes live, before it takes traffic. Least privilege: when migrations run, the app's "
            "role (DB_USER, the one in DATABASE_URL) may read and write rows and nothing else, so an SQL injection "
            "cannot drop or alter a table. The tables belong to an owner role, DB_OWNER, and only the migrations "
            "run as it; its password is born on the server, in a file only root reads, and a migration gets it "
            "for its own run. A server set up with one role is converged without touching a row. On Debian, "
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
            Check("psql -d DB_NAME -c '\\dp'", user="postgres", when=_PG_TWO,
                  note="each table's owner (DB_OWNER) and its privileges: DB_USER=arwd reads and writes, no more"),
            # asked, not tried: a refused CREATE would leave "permission denied" in PostgreSQL's log every time
            Check("""sh -c '. /srv/APP/shared/env/database.env && psql "$DATABASE_URL" -tAc "select """
                  """has_schema_privilege(current_schema(), '\\''CREATE'\\'')" | grep -qx f'""", user="USER",
                  when=_PG_TWO, note="the app's role may not create a table: PostgreSQL answers f (false) when asked "
                                     "whether it may create one in its schema"),
            Check("""mysql -e "SHOW GRANTS FOR 'DB_OWNER'@'localhost'\"""", root=True, when=_MARIA_TWO,
                  note="the owner's grants: ALL on the database; the app's user has SELECT, INSERT, UPDATE, DELETE"),
            Check("ls -l /srv/APP/shared/env", root=True,
                  note="the env files: root's, readable by USER only (database-owner.env: by root only)"),
        ],
        troubleshoot=[
            ("FATAL:  password authentication failed for user",
             "The role's password differs from the secret. With password_policy: set, apply fixes it; with keep, "
             "give the right secret."),
            ("psycopg2.OperationalError: connection to server on socket failed",
             "PostgreSQL is not running: `pg_lsclusters` shows it, `sudo journalctl -u 'postgresql@*'` says why."),
            ("django.db.utils.ProgrammingError: relation does not exist",
             "Migrations did not run: check migrate in the recipe and the step's output."),
            ("permission denied for schema public / must be owner of table",
             "The app's role changes data, not tables: schema changes belong in migrations (migrate in the recipe), "
             "which run as DB_OWNER. By hand: `sudo -u postgres psql DB_NAME`, then `SET ROLE DB_OWNER;` before the "
             "change, so the owner owns what you create. An app that creates its own tables as it starts needs "
             "schema_changes: app."),
            ("the migrations fail: password authentication failed for user \"DB_OWNER\"",
             "The owner's password lives only in /srv/APP/shared/env/database-owner.env (root's). If the role's "
             "password was changed by hand, delete that file and apply again: a new password is made and set."),
            ("A tutorial says MySQL, and this server runs MariaDB",
             "On Debian, MySQL is MariaDB: the mariadb-server package, the mariadb service, and the `mysql` client "
             "(also called `mariadb`) that talks to it. Django's MySQL backend and mysqlclient work with it as "
             "they are; DATABASE_URL starts with mysql://. As root, `sudo mysql` logs in without a password."),
        ],
        goal="The app has its own database and role, and its DATABASE_URL lets it log in.",
        section="3.2 Database migration and configuration",
    )

    def log_sources(self, settings: StepSettings, ctx: Context) -> dict[str, LogSource]:
        """The LogSources hook: Debian's PostgreSQL logs to a file per cluster; MariaDB to the journal."""
        if getattr(settings, "engine", "postgresql") == "mariadb":
            return {"db": LogSource(units=("mariadb.service",))}
        # read as postgres: its log directory is root:postgres 1775, where postgres could plant a link for root
        return {"db": LogSource(files=("/var/log/postgresql/postgresql-*-main.log",), user="postgres")}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """The app logs in with its own DATABASE_URL, as USER: what the app itself does at its first request.
        A role or database made by hand with psql counts; its privileges differ only (PostgreSQL only)."""
        assert isinstance(settings, DatabaseSettings)
        if settings.engine != "postgresql":
            return []
        probe = Probe('set -a; . "$1" || exit 1; out=$(runuser -u "$2" -- psql "$DATABASE_URL" -tAc "select 1" '
                      '2>&1) && exit 0; printf "%s\\n" "$out" | tail -n 1; exit 1', (self._env_file(ctx), ctx.user))

        def logs_in(facts: FactValues) -> str | None:
            answer = facts[probe]
            return None if answer.ok else _("the app cannot log in to its database: {error}").format(
                error=answer.output or "?")

        return [Meaning(_("{user} logs in to the database with its DATABASE_URL").format(user=ctx.user), (probe,),
                        logs_in)]

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, DatabaseSettings)
        return {"DB_NAME": settings.db_name(ctx), "DB_USER": settings.db_user(ctx), "DB_OWNER": settings.db_owner(ctx)}

    def _env_file(self, ctx: Context) -> str:
        return f"{ctx.env_dir}/database.env"

    def _owner_file(self, ctx: Context) -> str:
        """The owner role's DATABASE_URL: root's only (0600), never one of the app's env files."""
        return f"{ctx.env_dir}/database-owner.env"

    def _privileges(self, s: DatabaseSettings, ctx: Context) -> Fact:
        fact = PgPrivileges if s.engine == "postgresql" else MariaPrivileges
        return fact(s.db_user(ctx), s.db_owner(ctx), s.db_name(ctx))

    def facts(self, s: DatabaseSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        packages = PackagesInstalled(ENGINES[s.engine])
        yield packages
        yield from dir_facts(app_dirs(ctx))
        yield FileInfo(self._env_file(ctx))
        if s.roles == "two":
            yield PathInfo(self._owner_file(ctx))  # never its content: a password the wizard never needs
        if s.migrate != "none":
            yield from marker_facts(ctx, "migrated")
        if packages in known and all(known[packages].values()):
            if s.engine == "postgresql":
                yield PgState(s.db_user(ctx), s.db_name(ctx))
            else:
                yield MariaState(s.db_user(ctx), s.db_name(ctx))
            if s.roles == "two":
                yield self._privileges(s, ctx)

    def plan(self, s: DatabaseSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        packages = ENGINES[s.engine]
        install = install_missing(packages, facts[PackagesInstalled(packages)], recommends=RECOMMENDS[s.engine],
                                  early=EARLY)
        if install:
            yield install
            return  # the role and database are planned once the server runs
        password = ctx.secret(s.password, "database.password")
        db, user = s.db_name(ctx), s.db_user(ctx)
        yield from ensure_dirs(app_dirs(ctx), facts)  # the owner's URL file goes to the env directory
        if s.engine == "postgresql":
            yield from self._plan_postgres(s, facts, ctx, password)
            scheme, port = "postgresql", 5432
        else:
            yield from self._plan_mariadb(s, facts, ctx, password)
            scheme, port = "mysql", 3306
        quoted = password.derive(urlquote(password.reveal(), safe=""), "url")
        options = "?charset=utf8mb4" if s.engine == "mariadb" else ""  # MariaDB's utf8 is not all of Unicode
        content = Secret.join("database.env", f"# Managed by deploy-wizard (step database).\nDATABASE_URL={scheme}://"
                              f"{user}:", quoted, f"@127.0.0.1:{port}/{db}{options}\n")
        path = self._env_file(ctx)
        yield from file_change(_("write DATABASE_URL to {path} (only {user} can read it)").format(
            path=path, user=ctx.user), path, content, facts[FileInfo(path)], mode="0640", owner="root",
            group=ctx.user)
        yield from self._plan_migrations(s, facts, ctx)

    def _plan_postgres(self, s: DatabaseSettings, facts: FactValues, ctx: Context,
                       password: Secret) -> Iterator[Change | Ok]:
        """The app's role, the owner role (two roles), the database, and who may do what in it."""
        db, user, owner = s.db_name(ctx), s.db_user(ctx), s.db_owner(ctx)
        state = facts[PgState(user, db)]
        if not state["reachable"]:
            raise PlanError(_("PostgreSQL does not answer: check `systemctl status postgresql`"))
        yield from login.pg_role(state, password, user, s.password_policy, s.password)
        two = s.roles == "two"
        if two:
            yield from roles.pg_owner(facts[self._privileges(s, ctx)], facts[PathInfo(self._owner_file(ctx))]
                                      is not None, self._owner_file(ctx), owner, db)
        if state["db_owner"] is None:
            yield RunCommand(_("create the database {db} owned by {user}").format(db=db, user=owner),
                             sh('runuser -u postgres -- createdb --owner="$1" -- "$2"', owner, db,
                                display=f"runuser -u postgres -- createdb --owner={shlex.quote(owner)} -- "
                                        f"{shlex.quote(db)}"),
                             skip_if=sh('runuser -u postgres -- psql -X -tA -l | cut -d"|" -f1 | grep -qx "$1"', db))
        elif state["db_owner"] != owner and not two:  # with two roles, the grants hand it over (roles.py)
            yield RunCommand(_("give the database {db} to {user}").format(db=db, user=owner), sh(
                'printf "%s\\n" "alter database :\\"d\\" owner to :\\"r\\";" | '
                'runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v r="$1" -v d="$2"', owner, db), skip_if=sh(
                'printf "%s\\n" "select pg_get_userbyid(datdba) from pg_database where datname = :\'d\';" | '
                'runuser -u postgres -- psql -X -tA -v d="$2" | grep -qx "$1"', owner, db))
        else:
            yield Ok(_("database {db} exists").format(db=db))
        if two:
            yield from roles.pg_grants(facts[self._privileges(s, ctx)], user, owner, db)

    def _plan_mariadb(self, s: DatabaseSettings, facts: FactValues, ctx: Context,
                      password: Secret) -> Iterator[Change | Ok]:
        """The app's user, the owner user (two roles), the database, and who may do what in it."""
        db, user, owner = s.db_name(ctx), s.db_user(ctx), s.db_owner(ctx)
        state = facts[MariaState(user, db)]
        if not state["reachable"]:
            raise PlanError(_("MariaDB does not answer: check `systemctl status mariadb`"))
        yield from login.maria_user(state, password, user, s.password_policy, s.password)
        two = s.roles == "two"
        if two:
            yield from roles.maria_owner(facts[self._privileges(s, ctx)], facts[PathInfo(self._owner_file(ctx))]
                                         is not None, self._owner_file(ctx), owner, db)
        if not state["db"] or not (two or state["grant"]):
            grant = "" if two else f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';\n"
            sql = f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;\n{grant}"
            guard = (sh('mysql -e "USE \\`$1\\`"', db) if two else sh(
                'mysql -e "USE \\`$2\\`" && mysql -N -B -e "SHOW GRANTS FOR \'$1\'@\'localhost\'" | '
                'grep -qF "ON \\`$2\\`.*"', user, db))
            yield RunCommand(_("create the database {db} owned by {user}").format(db=db, user=owner),
                             cmd("mysql", stdin=sql, display=f"mysql -e \"{' '.join(sql.split())}\""),
                             skip_if=guard)
        else:
            yield Ok(_("database {db} exists").format(db=db))
        if two:
            yield from roles.maria_grants(facts[self._privileges(s, ctx)], user, owner, db)

    def migrate_now(self, settings: StepSettings, ctx: Context) -> Command | None:
        """The Migrator hook (recipes/shared/data.py): the migrations, run now in the live release as a deploy
        runs them (after `deploy-wizard restore`), or None when the recipe has none."""
        assert isinstance(settings, DatabaseSettings)
        return run_now(ctx, migration_command(settings.migrate, settings.migrate_command),
                       self._owner_file(ctx) if settings.roles == "two" else None)

    def _plan_migrations(self, s: DatabaseSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        if s.migrate == "none":
            return
        command = migration_command(s.migrate, s.migrate_command)
        if not command:
            raise PlanError(_("migrate: command needs migrate_command"))
        release = marker_pending(facts, ctx, "migrated")
        if release is None:
            live = working_release(facts, ctx)
            yield Ok(_("migrations ran for release {id}").format(id=live) if live else _("no release to migrate yet"))
            return
        two = s.roles == "two"
        backups = pre_migration_dump(ctx)
        if backups is not None:  # the data as it was before this release changed it, kept with its release
            yield RunCommand(_("dump the database before release {id} migrates").format(id=release),
                             backups[0].dump_before_migration(backups[1], ctx, release), timeout=3600,
                             skip_if=done_for(ctx, "migrated", release))
        why = (_("run the migrations for release {id} as the owner role {owner}: {command}") if two else
               _("run the migrations for release {id}: {command}"))
        yield from once_per_release(
            ctx, release, "migrated", command, timeout=3600,
            why=why.format(id=release, command=shown_command(command), owner=s.db_owner(ctx)),
            remember=_("remember that release {id} is migrated").format(id=release),
            database_url_from=self._owner_file(ctx) if two else None)
