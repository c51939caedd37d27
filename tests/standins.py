"""Stand-ins shared by the tests that run the engine's Runner on a real shell (the local transport): a step base
without the lines every test step repeated, the settings they take, two steps that write and need a file, and
one way to run steps and keep what they emitted.

Why here: test_runner, test_plan_ahead, test_read_ahead and test_check_works each had their own copy of the same
step boilerplate and the same "connect, run, collect the events" helper; a change to the Runner's signature had
to be made in each. What a single test module needs alone stays in that module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from wizard.engine.commands import cmd
from wizard.engine.events import Event, RunMode
from wizard.engine.facts import FileInfo
from wizard.engine.runner import Runner, RunResult
from wizard.engine.step import Ok, RunCommand, Step, StepSettings, Teaching, file_change
from wizard.engine.transports.local import LocalTransport


class RootSettings(StepSettings):
    root: str


class PathSettings(RootSettings):
    name: str


class StandIn(Step):
    """A test's step: titled by its name, with a placeholder teaching (no test reads either)."""

    teaching: ClassVar[Teaching] = Teaching(why="test")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and "title" not in cls.__dict__:
            cls.title = cls.name


class Writes(StandIn):
    """Writes root/name (one change on a fresh directory, none after)."""

    name = "writes"
    Settings = PathSettings

    def facts(self, s, known, ctx):
        return [FileInfo(f"{s.root}/{s.name}")]

    def plan(self, s, facts, ctx):
        path = f"{s.root}/{s.name}"
        yield from file_change(f"write {s.name}", path, "x\n", facts[FileInfo(path)])


class Needs(StandIn):
    """Needs root/name to exist already: planned from a stale answer (absent), it would fail the run."""

    name = "needs"
    Settings = PathSettings

    def facts(self, s, known, ctx):
        return [FileInfo(f"{s.root}/{s.name}")]

    def plan(self, s, facts, ctx):
        if facts[FileInfo(f"{s.root}/{s.name}")] is None:
            yield RunCommand(f"{s.name} is missing", cmd("false"))
        else:
            yield Ok(f"{s.name} is there")


def named(step: type[Step], suffix: str) -> Step:
    """Another step of the same kind under its own name (a recipe's steps have different names)."""
    return type(f"{step.__name__}_{suffix}", (step,), {"name": f"{step.name}_{suffix}"})()


async def local_runner(steps: Sequence[tuple[Step, StepSettings]], events: list[Event],
                       sinks: Iterable[Callable[[Event], None]] = (), **options: Any) -> Runner:
    """A Runner over a connected local transport whose events land in `events` (and in each of `sinks`)."""
    transport = LocalTransport()
    await transport.connect()
    extra = tuple(sinks)

    def emit(event: Event) -> None:
        events.append(event)
        for sink in extra:
            sink(event)

    return Runner(transport, list(steps), emit, **options)


async def run_steps(steps: Sequence[tuple[Step, StepSettings]], mode: str = "apply",
                    sinks: Iterable[Callable[[Event], None]] = (),
                    **options: Any) -> tuple[RunResult, list[Event], LocalTransport]:
    """Apply the steps (or plan them: mode "plan", "check"), with what they emitted and the transport used."""
    events: list[Event] = []
    runner = await local_runner(steps, events, sinks, **options)
    result = await (runner.apply() if mode == "apply" else runner.plan(RunMode(mode)))
    assert isinstance(runner.transport, LocalTransport)
    return result, events, runner.transport
