"""The recipe steps, in the order a server is built: each later step may rely on the earlier ones."""

from __future__ import annotations

from recipes.app_server import AppServer
from recipes.code import Code
from recipes.database import Database
from recipes.deploy_user import DeployUser
from recipes.firewall import Firewall
from recipes.monitoring import Monitoring
from recipes.nginx import Nginx
from recipes.os_updates import OsUpdates
from recipes.python_env import PythonEnv
from recipes.static_files import StaticFiles
from recipes.tls import Tls
from wizard.steps import Step

STEPS: tuple[Step, ...] = (
    OsUpdates(), DeployUser(), PythonEnv(), Code(), Database(), StaticFiles(), AppServer(), Nginx(), Tls(),
    Firewall(), Monitoring(),
)
BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
