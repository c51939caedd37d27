"""The recipe steps, in the order a server is built: each later step may rely on the earlier ones."""

from __future__ import annotations

from recipes.deploy_user import DeployUser
from recipes.os_updates import OsUpdates
from wizard.steps import Step

STEPS: tuple[Step, ...] = (OsUpdates(), DeployUser())
BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
