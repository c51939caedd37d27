"""Two database roles (recipes/database/roles.py): the app's reads and writes rows, the owner's changes the schema
and is used by migrations only. Where this machine has PostgreSQL's server programs and runs as root, the SQL
runs for real on a throwaway cluster: a server deployed with one role converges to two without losing a row."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recipes.database import roles
from recipes.database.facts import PgPrivileges, pg_converged
from recipes.database.step import DatabaseSettings
from recipes.shared.common import as_app
from wizard.engine.commands import Command
from wizard.engine.step import Context, RunCommand


def settings(**values: object) -> DatabaseSettings:
    return DatabaseSettings.model_validate({"password": "env:DB", **values})


def test_migrations_decide_whether_the_schema_has_an_owner_of_its_own() -> None:
    ctx = Context(app="shop", user="shop")
    assert settings(migrate="django").roles == "two" and settings(migrate="django").db_owner(ctx) == "shop_owner"
    assert settings().roles == "one" and settings().db_owner(ctx) == "shop"  # the app creates its own tables
    assert settings(schema_changes="app", migrate="django").roles == "one"
    assert settings(schema_changes="migrations").roles == "two"
    assert len(roles.owner_role("x" * 63)) == 63  # PostgreSQL's limit for a name


def test_a_migration_gets_the_owners_url_from_root_never_on_a_command_line() -> None:
    ctx = Context(app="shop", user="shop")
    command = as_app(ctx, "exec python migrate.py", release="abc", database_url_from="/srv/shop/shared/env/o.env")
    assert command.user is None and command.root  # root reads the file, then becomes the app user
    assert command.bits[4] == "/srv/shop/shared/env/o.env" and "runuser -u" in command.bits[2]
    plain = as_app(ctx, "exec python migrate.py", release="abc")
    assert plain.user == "shop" and "DATABASE_URL" not in plain.shell()


def test_the_plan_says_whether_it_hands_tables_over_or_only_grants() -> None:
    upgrade = next(roles.pg_grants({"owner": True, "db": True, "db_owner": "shop", "app_owns": 3}, "shop",
                                   "shop_owner", "shop"))
    assert isinstance(upgrade, RunCommand) and upgrade.why.startswith("hand database shop and its tables from shop")
    fresh = next(roles.pg_grants({"owner": True, "db": False}, "shop", "shop_owner", "shop"))
    assert isinstance(fresh, RunCommand) and fresh.why.startswith("let shop read and write the data of shop")
    assert "reassign owned by shop to shop_owner" in fresh.command.summary()  # what runs is what is shown


# ------------------------------------------------------------------------------------------ on a real cluster

PG_BIN = Path("/usr/lib/postgresql")


def _initdb() -> Path | None:
    found = sorted(PG_BIN.glob("*/bin/initdb"))
    return found[-1] if found else None


needs_postgres = pytest.mark.skipif(
    _initdb() is None or os.geteuid() != 0 or shutil.which("runuser") is None
    or subprocess.run(["id", "postgres"], capture_output=True).returncode != 0,
    reason="needs PostgreSQL's server programs, a postgres account and root (runuser) on this machine")


def run(command: Command, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command.shell(), shell=True, capture_output=True, text=True, env=env,
                          input=command.stdin_text())


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL on a unix socket of its own; psql, createdb and the commands under test find it
    through PGHOST and PGPORT."""
    initdb = _initdb()
    assert initdb is not None
    base = Path(tempfile.mkdtemp(prefix="dw-pg-"))
    base.chmod(0o755)
    shutil.chown(base, "postgres")
    env = {**os.environ, "PGHOST": str(base), "PGPORT": "5433"}
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(initdb), "-D", f"{base}/data", "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*as_pg, str(initdb.parent / "pg_ctl"), "-D", f"{base}/data", "-w", "-l", f"{base}/log", "-o",
                    f"-k {base} -p 5433 -c listen_addresses=''", "start"], check=True, capture_output=True)
    try:
        yield env
    finally:
        subprocess.run([*as_pg, str(initdb.parent / "pg_ctl"), "-D", f"{base}/data", "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def psql(env: dict[str, str], user: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["psql", "-X", "-q", "-tA", "-U", user, "-d", "shop", "-c", sql], capture_output=True,
                          text=True, env=env)


@needs_postgres
def test_one_role_becomes_two_without_losing_a_row(cluster: dict[str, str], tmp_path: Path) -> None:
    env = cluster
    # the server as the one-role layout left it: the app's role owns the database, a table with rows, a type
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-c", "create role shop login"],
                   check=True, env=env)
    subprocess.run(["runuser", "-u", "postgres", "--", "createdb", "--owner=shop", "shop"], check=True, env=env)
    assert psql(env, "shop", "create table visits (id serial primary key); insert into visits default values; "
                             "create type mood as enum ('ok')").returncode == 0
    fact = PgPrivileges("shop", "shop_owner", "shop")
    url = tmp_path / "database-owner.env"
    owner = next(roles.pg_owner(fact.parse(run(fact.command(), env).stdout, 0), False, str(url), "shop_owner",
                                "shop"))
    assert isinstance(owner, RunCommand) and run(owner.skip_if, env).returncode != 0
    made = run(owner.command, env)
    assert made.returncode == 0, made.stderr
    assert run(owner.skip_if, env).returncode == 0 and oct(url.stat().st_mode & 0o777) == "0o600"
    assert url.read_text().startswith("DATABASE_URL=postgresql://shop_owner:")

    state = fact.parse(run(fact.command(), env).stdout, 0)
    assert state["app_owns"] and not pg_converged(state, "shop_owner")
    grants = next(roles.pg_grants(state, "shop", "shop_owner", "shop"))
    assert isinstance(grants, RunCommand) and run(grants.skip_if, env).returncode != 0
    done = run(grants.command, env)
    assert done.returncode == 0, done.stderr
    assert run(grants.skip_if, env).returncode == 0
    assert pg_converged(fact.parse(run(fact.command(), env).stdout, 0), "shop_owner")
    assert run(grants.command, env).returncode == 0  # a second run changes nothing and fails nothing

    # the app's role: its rows are there and it writes more; the schema is no longer its to change
    assert psql(env, "shop", "insert into visits default values; select count(*) from visits").stdout.strip() == "2"
    for ddl in ("alter table visits add column x int", "drop table visits", "create table t (id int)"):
        refused = psql(env, "shop", ddl)
        assert refused.returncode != 0 and ("must be owner" in refused.stderr or "permission denied" in
                                            refused.stderr), (ddl, refused.stderr)
    # a table a migration creates later (as the owner) is the app's to read and write at once
    assert psql(env, "shop_owner", "create table later (id bigint generated always as identity, t text)"
                ).returncode == 0
    assert psql(env, "shop", "insert into later (t) values ('x') returning id").stdout.strip() == "1"
