"""`deploy-wizard run`: one command on the server the way the app runs (its user, live release, env, venv).

Why so little here: how the app runs belongs to the step that deploys it (the code step, recipes/code/step.py);
the application only finds it through the step's OneOff hook, so it never imports a step by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.app.recipefile import Recipe
from wizard.engine.commands import Command
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.hooks import OneOff
from wizard.engine.i18n import _

__all__ = ["NoAppError", "one_off_command"]


class NoAppError(DeployWizardError):
    """The recipe deploys no app, so there is no user, release or env to run a command with."""

    exit_code = ExitCode.BAD_INPUT


def one_off_command(recipe: Recipe, argv: Sequence[str]) -> Command:
    """The command line for `argv`, built before connecting: a recipe without a code step fails at once."""
    ctx = recipe.context()
    for step, settings in recipe.selected():
        if isinstance(step, OneOff):
            return step.one_off(settings, ctx, argv)
    raise NoAppError(_("this recipe deploys no app (it has no code step), so there is no release to run a "
                       "command in"))
