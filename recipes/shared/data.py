"""What the database step and the backups step know of each other, without importing each other.

Why: the backups step dumps the recipe's database (its name, engine and owner are the database step's), and
the database step takes a dump before each release's migrations (the dump is the backups step's); a restore
runs the migrations again the way a deploy runs them. Each asks its peer through `ctx.peer(name)` and checks
it against these shapes, so a step package of your own that offers the same shape can stand in.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from wizard.engine.commands import Command
from wizard.engine.step import Context, StepSettings


@runtime_checkable
class DatabaseSettings(Protocol):
    """The database step's settings, as the backups step reads them."""

    engine: str

    def db_name(self, ctx: Context) -> str: ...

    def db_owner(self, ctx: Context) -> str: ...


@runtime_checkable
class Migrator(Protocol):
    """The step that runs the app's migrations (the database step): the command that runs them now, in the live
    release, as a deploy runs them (None when the recipe has none)."""

    def migrate_now(self, settings: StepSettings, ctx: Context) -> Command | None: ...


@runtime_checkable
class PreMigrationDump(Protocol):
    """The step that keeps backups: the command that takes a dump before `release` migrates."""

    def dump_before_migration(self, settings: StepSettings, ctx: Context, release: str) -> Command: ...


def database(ctx: Context) -> DatabaseSettings | None:
    settings = ctx.settings("database")
    return settings if isinstance(settings, DatabaseSettings) else None


def migrator(ctx: Context) -> tuple[Migrator, StepSettings] | None:
    peer = ctx.peer("database")
    return (peer[0], peer[1]) if peer is not None and isinstance(peer[0], Migrator) else None


def pre_migration_dump(ctx: Context) -> tuple[PreMigrationDump, StepSettings] | None:
    peer = ctx.peer("backups")
    return (peer[0], peer[1]) if peer is not None and isinstance(peer[0], PreMigrationDump) else None
