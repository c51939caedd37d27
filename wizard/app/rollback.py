"""`deploy-wizard rollback`: asks the recipe's step that owns releases (the code step) to switch back.

Why so little here: the release layout belongs to that step (recipes/code/rollback.py); the application only
finds it through the step's ReleaseSwitcher hook, so it never imports a step by name.
"""

from __future__ import annotations

from collections.abc import Callable

from wizard.app.recipefile import Recipe
from wizard.engine.errors import DeployWizardError
from wizard.engine.hooks import ReleaseFollower, ReleaseSwitcher, Rollback, RollbackError
from wizard.engine.i18n import _
from wizard.engine.transports.base import Transport

__all__ = ["Rollback", "RollbackError", "rollback"]


async def rollback(transport: Transport, recipe: Recipe, to: str | None = None,
                   say: Callable[[str], None] | None = None) -> Rollback:
    """Switch to `to`, or to the release deployed before the current one; then the steps that follow the live
    release (workers) move onto it, only once the web's switch succeeded. `say` hears each stage as it starts."""
    ctx = recipe.context()
    for step, settings in recipe.selected():
        if isinstance(step, ReleaseSwitcher):
            done = await step.rollback(transport, settings, ctx, to, say)
            if done.before != done.after:
                await _follow(transport, recipe, done, say or (lambda text: None))
            return done
    raise RollbackError(_("this recipe deploys no releases (it has no code step), so there is nothing to roll back"))


async def _follow(transport: Transport, recipe: Recipe, done: Rollback, say: Callable[[str], None]) -> None:
    """Each ReleaseFollower's commands, in the recipe's order; the first failure stops with what failed (the web
    serves the release already: that is said too)."""
    ctx = recipe.context()
    for step, settings in recipe.selected():
        if not isinstance(step, ReleaseFollower):
            continue
        say(_("{what}: restarting on release {new}").format(what=step.label(), new=done.after))
        for command in step.follow_release(settings, ctx):
            result = await transport.run(command, timeout=3900)
            if not result.ok:
                raise DeployWizardError(_("release {new} serves the site, but {what} did not follow it: '{command}' "
                                          "failed: {why}").format(new=done.after, what=step.label(),
                                                                   command=command.summary(),
                                                                   why=(result.stderr or result.stdout).strip()))
        done.moved.append(step.label())
