"""`deploy-wizard rollback`: asks the recipe's step that owns releases (the code step) to switch back.

Why so little here: the release layout belongs to that step (recipes/code/rollback.py); the application only
finds it through the step's ReleaseSwitcher hook, so it never imports a step by name.
"""

from __future__ import annotations

from wizard.app.recipefile import Recipe
from wizard.engine.i18n import _
from wizard.engine.step import ReleaseSwitcher, Rollback, RollbackError
from wizard.engine.transports.base import Transport

__all__ = ["Rollback", "RollbackError", "rollback"]


async def rollback(transport: Transport, recipe: Recipe, to: str | None = None) -> Rollback:
    """Switch to `to`, or to the release deployed before the current one."""
    ctx = recipe.context()
    for step, settings in recipe.selected():
        if isinstance(step, ReleaseSwitcher):
            return await step.rollback(transport, settings, ctx, to)
    raise RollbackError(_("this recipe deploys no releases (it has no code step), so there is nothing to roll back"))
