"""The recipe steps, in the order a server is built: each later step may rely on the earlier ones."""

from __future__ import annotations

from recipes.app_server.step import AppServer
from recipes.code.step import Code
from recipes.database.step import Database
from recipes.deploy_user.step import DeployUser
from recipes.firewall.step import Firewall
from recipes.monitoring.step import Monitoring
from recipes.nginx.step import Nginx
from recipes.os_updates.step import OsUpdates
from recipes.python.step import PythonEnv
from recipes.static.step import StaticFiles
from recipes.tls.step import Tls
from wizard.engine.step import Step

STEPS: tuple[Step, ...] = (
    OsUpdates(), DeployUser(), PythonEnv(), Code(), Database(), StaticFiles(), AppServer(), Nginx(), Tls(),
    Firewall(), Monitoring(),
)
BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
