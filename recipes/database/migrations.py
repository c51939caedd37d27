"""The app's migrations as commands: what each `migrate` setting runs, and the run `deploy-wizard restore` makes
after it put the data back (the plan's own run, once per release, is recipes.shared.common.once_per_release)."""

from __future__ import annotations

import shlex

from recipes.shared.common import as_app, chained, shown_command
from wizard.engine.commands import Command
from wizard.engine.step import Context

MIGRATIONS = {
    "django": "python manage.py migrate --noinput",
    "alembic": "alembic upgrade head",
    "flask": "flask db upgrade",
}


def migration_command(migrate: str, migrate_command: str | None) -> str | None:
    """The migrations as words (None: none, or migrate: command without its command)."""
    return migrate_command if migrate == "command" else MIGRATIONS.get(migrate)


def run_now(ctx: Context, command: str | None, owner_file: str | None) -> Command | None:
    """The migrations run now in the live release, as the app user with the app's env (the owner role's
    DATABASE_URL from `owner_file` with two roles), or None when the recipe has none."""
    if not command:
        return None
    script, args = chained(shlex.split(command))
    return as_app(ctx, script, ctx.venv, *args, display=f"cd {ctx.current} && " + shown_command(command),
                  database_url_from=owner_file)
