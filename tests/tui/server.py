"""A stand-in server for run-screen tests: a transport that answers in memory, and a plugin step that writes
one value to it.

The `configure` step sets a value on the server; a command whose value is "bad" fails (exit 1, like a
config check), one with "block" hangs until cancelled (a long apt install), any other is remembered, so the
step plans nothing once its value is there (a second run converges, as real steps do through their facts).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import Field

from wizard.app import registry
from wizard.engine.commands import cmd
from wizard.engine.step import Change, Context, Ok, RunCommand, Step, StepSettings, Teaching
from wizard.engine.transports.base import OutputCallback, Result, Transport

STATE: set[str] = set()
RUN_TAG = re.compile(r"^export DEPLOY_WIZARD_RUN=\S+; ")  # the values configured on the stand-in server


class ConfigureSettings(StepSettings):
    value: str = Field("bad", description="The value to configure.")
    other: str = Field("x", description="Another value.")


class Configure(Step):
    name = "configure"
    order = 50  # before os_updates: its own page comes first in the flow
    title = "Configure"
    Settings = ConfigureSettings
    teaching = Teaching(why="A step that sets one value on the server.")

    def plan(self, settings: StepSettings, facts: object, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, ConfigureSettings)
        if settings.value in STATE:
            yield Ok(f"{settings.value} is configured")
        else:
            yield RunCommand(f"configure {settings.value}", cmd("configure", settings.value))


class FakeServer(Transport):
    label = "web1.example.com"
    sent: list[str] = []
    closed = 0

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        command_line = RUN_TAG.sub("", command_line)  # every change carries the run's tag (wizard/app/deploylock.py)
        type(self).sent.append(command_line)
        if "flock -w" in command_line:  # the deploy lock (wizard/app/deploylock.py): free, nothing left behind
            return Result(0, "acquired\n", "")
        if "/proc/[0-9]*/environ" in command_line:  # what an interrupted run left running: nothing
            return Result(0, "", "")
        if command_line.startswith("configure "):
            value = command_line.split()[-1]
            if value == "block":
                await asyncio.Event().wait()  # until the run is cancelled
            if value == "bad":
                if on_output is not None:
                    on_output("stderr", "configure: 'bad' is not a valid value")
                return Result(1, "", "configure: 'bad' is not a valid value")
            STATE.add(value)
            return Result(0, "", "")
        return Result(0, "root\n0\nnopasswd\n", "")  # the login probe: root

    async def _upload_temp(self, content: bytes) -> str:
        return "/tmp/upload"

    async def close(self) -> None:
        type(self).closed += 1


@contextmanager
def recipes_know(steps_model: type) -> Iterator[None]:
    """Recipe files read with these steps: the model of a recipe's steps is made from the registry at import,
    as a plugin step installed before the wizard starts is; a test installs its step later."""
    from wizard.app import recipefile

    field = recipefile.Recipe.model_fields["steps"]
    before = (field.annotation, field.default_factory)
    field.annotation, field.default_factory = steps_model, steps_model
    recipefile.Recipe.model_rebuild(force=True)
    try:
        yield
    finally:
        field.annotation, field.default_factory = before
        recipefile.Recipe.model_rebuild(force=True)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeServer]]:
    """The `configure` step installed beside the built-in ones, and every run connecting to the stand-in."""
    from wizard.app import recipefile

    installed = registry.steps()
    monkeypatch.setattr(registry, "steps", lambda: tuple(sorted((*installed, Configure()), key=lambda s: s.order)))
    monkeypatch.setattr("wizard.app.session.make_transport", lambda *args, **kwargs: FakeServer())
    STATE.clear()
    FakeServer.sent, FakeServer.closed = [], 0
    with recipes_know(recipefile._steps_model()):
        yield FakeServer
