"""`deploy-wizard deploy FILE --ref REF`: ship one commit to a provisioned server, the release part only.

Why a command of its own and not `apply --set code.ref=REF`: a CI job that ships code should fetch, release,
migrate, switch and health-check, and nothing else; an apply would also upgrade packages, rewrite nginx or
touch the firewall on every push. Here only the steps that are part of a release run (Step.release_part: code,
database migrations, static files, the app server's gate and switch); the others are read as their context
(the site's name and TLS for the health check) and never changed.

Why the ref is read here: a branch or tag moves, so it is read once, on this machine (as a fleet rollout
reads it), and the server checks out that commit; what CI tested is what goes live. A full commit is used as
it is. A ref that names nothing is bad input (exit 2) before anything on the server changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.app.fleet import pin_shared
from wizard.app.recipefile import Recipe, with_overrides
from wizard.app.session import Questions, run_recipe
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.events import Sink
from wizard.engine.hooks import LiveRelease
from wizard.engine.i18n import _
from wizard.engine.runner import RunResult
from wizard.engine.step import Context, PlanError
from wizard.engine.transports.base import Transport


class DeployError(DeployWizardError):
    """A deploy that cannot start as asked: a recipe without releases, a ref that names nothing, a server that
    was never provisioned. Bad input: nothing on the server changed."""

    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Shipment:
    """What a deploy is about to ship: the recipe with its ref pinned, the commit, the steps that run."""

    recipe: Recipe
    commit: str
    steps: tuple[str, ...]


def release_steps(recipe: Recipe) -> tuple[str, ...]:
    """The recipe's steps that make up a release, in the order they run."""
    return tuple(step.name for step, _settings in recipe.selected() if step.release_part)


async def prepare(recipe: Recipe, ref: str) -> Shipment:
    """The recipe with `code.ref` set to the commit `ref` names now (read on this machine); DeployError when
    the recipe ships no releases or the ref names nothing (RecipeError, exit 2, when it is not a ref at all)."""
    owner = next((step.name for step, _settings in recipe.selected() if isinstance(step, LiveRelease)), None)
    if owner is None:
        raise DeployError(_("this recipe deploys no releases (it has no code step), so there is nothing to deploy"))
    recipe = with_overrides(recipe, [f"{owner}.ref={ref}"])
    try:
        recipe, _pinned = await pin_shared(recipe)
    except PlanError as exc:
        raise DeployError(_("--ref {ref}: {why}").format(ref=ref, why=exc)) from None
    commit = str(getattr(getattr(recipe.steps, owner), "ref"))  # noqa: B009 (the step is found, not named)
    return Shipment(recipe, commit, release_steps(recipe))


async def provisioned(transport: Transport, ctx: Context) -> None:
    """The preflight of a deploy: a release is live already, else the recipe was never applied here."""
    for name, settings in ctx.others.items():
        step = ctx.steps.get(name)
        if isinstance(step, LiveRelease) and await step.live_release(transport, settings, ctx) is None:
            raise DeployError(_("nothing of {app} is live on {host} yet: deploy ships releases to a server the "
                                "recipe set up; run `deploy-wizard apply` once first").format(
                                    app=ctx.app, host=transport.label))


async def deploy(shipment: Shipment, sink: Sink, questions: Questions, *, host: str | None = None,
                 lock_wait: int = 0) -> RunResult:
    """Apply the release steps of the shipment, holding the deploy lock; the result as apply reports it."""
    return await run_recipe(shipment.recipe, "apply", sink, questions, host=host, lock_wait=lock_wait,
                            steps=shipment.steps, preflight=provisioned)


__all__ = ["DeployError", "Shipment", "deploy", "prepare", "release_steps"]
