"""Hooks a step may offer beyond planning, for the commands that act on a provisioned server (deploy, logs,
rollback, run) and on a fleet.

Why Protocols: the application finds the step that offers one with isinstance instead of importing a step by
name, so a step package of your own can offer them too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from wizard.engine.commands import Command
from wizard.engine.errors import DeployWizardError
from wizard.engine.facts import FactGatherer
from wizard.engine.step import Context, StepSettings
from wizard.engine.transports.base import Transport


@dataclass(frozen=True)
class LogSource:
    """Where one service's logs are on the server: systemd units whose journal holds them (patterns as
    `journalctl -u` takes them), or files (shell patterns; rotated copies beside them are not read)."""


    units: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    # who reads the files: root by default; the account that owns their directory when another account could
    # plant a link there (root never follows a path another account controls)
    user: str | None = None


@runtime_checkable
class LogSources(Protocol):
    """A step that knows where the logs of what it set up are (`deploy-wizard logs --service NAME`): keys are
    the service names (`app`, `nginx`, `db`, `worker NAME`).

    Why a hook on the step: the unit names and log files belong to the step that made them, so the logs command
    asks the recipe's steps instead of knowing every layout."""

    def log_sources(self, settings: StepSettings, ctx: Context) -> Mapping[str, LogSource]: ...


@runtime_checkable
class LiveRelease(Protocol):
    """A step that can say which release is live on a server (the code step), None before the first deploy.

    Why: `deploy-wizard deploy` ships a release to a server the recipe provisioned; on a bare one it would
    meet a missing user or venv half-way, so it asks first and says to apply the recipe once. Its settings have
    `ref`, the branch, tag or commit that `deploy --ref` sets."""

    async def live_release(self, transport: Transport, settings: StepSettings, ctx: Context) -> str | None: ...


@runtime_checkable
class ReleaseFollower(Protocol):
    """A step whose processes run the live release but are not the web release itself (workers): after
    `deploy-wizard rollback` switched the web, they are moved onto the release it serves now.

    Why a hook: the web's switch (its gate, its watch) decides which release is live; the processes that
    follow it must never run one the web has not accepted, so they move only after the switch succeeded.
    A new release reaches them the same way through the recipe's order (their step runs after the app
    server's), so this is for the one path that does not run the plan: a rollback."""

    def follow_release(self, settings: StepSettings, ctx: Context) -> list[Command]: ...


__all__ = ["LiveRelease", "LogSource", "LogSources", "ReleaseFollower"]


class RollbackError(DeployWizardError):
    """A rollback that cannot be done (nothing deployed, no such release, a failed switch)."""


@dataclass
class Rollback:
    before: str
    after: str
    releases: list[str]
    moved: list[str] = field(default_factory=list)  # what followed the web onto `after` (each step's label)


@runtime_checkable
class ReleaseSwitcher(Protocol):
    """A step that keeps releases on the server and can point the live one back (the code step).

    Why a hook on the step: `deploy-wizard rollback` belongs to whichever step owns releases, so the
    application asks the recipe's steps instead of knowing the release layout itself.
    """

    async def rollback(self, transport: Transport, settings: StepSettings, ctx: Context,
                       to: str | None, say: Callable[[str], None] | None = None) -> Rollback:
        """Switch to `to` (None: the release before the live one); `say` hears what it waits for as it goes."""
        ...


@runtime_checkable
class OneOff(Protocol):
    """A step that knows how the app runs, so one command can run the same way (the code step).

    Why a hook on the step: `deploy-wizard run -- python manage.py createsuperuser` must meet the app's user,
    live release, env files and venv exactly as the service does, and that layout belongs to the step that
    deploys releases; the application asks the recipe's steps instead of knowing it.
    """

    def one_off(self, settings: StepSettings, ctx: Context, argv: Sequence[str]) -> Command: ...


@runtime_checkable
class FleetPinned(Protocol):
    """A step with a setting that names something that moves (a branch names a commit): on many hosts it is
    read once, on this machine, and every host gets the value read.

    Why: each host reading the branch itself would deploy whatever the branch named when that host got to
    it, so a push during a rollout leaves a fleet on two commits. `gather` asks facts on this machine
    (facts with `here = True`); a setting that cannot be read here raises PlanError, before any host starts.
    """

    async def pin_for_fleet(self, settings: StepSettings, gather: FactGatherer) -> dict[str, str]: ...

