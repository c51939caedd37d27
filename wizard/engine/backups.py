"""The hook behind `deploy-wizard backup`, `restore` and the rollback note on migrations: a step that keeps
backups on the server implements BackupKeeper (the backups step), so the application never imports a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from wizard.engine.commands import Command
from wizard.engine.step import Context, StepSettings


@dataclass
class RestorePlan:
    """What `deploy-wizard restore` runs, in order: stop the app's units, put the data back, run the
    migrations (None: the recipe has none), start what was stopped (always, even after a failure)."""

    stop: Command
    data: Command
    migrate: Command | None
    start: Command


@runtime_checkable
class BackupKeeper(Protocol):
    """A step that keeps backups on the server (the backups step): `deploy-wizard backup`, `restore` and the
    note `rollback` gives about a release that migrated ask it, so the application never imports a step."""

    def backup_now(self, settings: StepSettings, ctx: Context) -> Command: ...

    def drill_now(self, settings: StepSettings, ctx: Context, dump: str | None) -> Command: ...

    def restore_plan(self, settings: StepSettings, ctx: Context, dump: str) -> RestorePlan: ...

    def list_backups(self, settings: StepSettings, ctx: Context) -> Command: ...

    def fetch_offsite(self, settings: StepSettings, ctx: Context, want: str) -> Command | None: ...
