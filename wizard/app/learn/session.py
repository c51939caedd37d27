"""The learner's actions on the practice server: grade a step, let the tool do the rest, break a drill.

Why one connection per action: the learner works in another terminal for minutes between two actions; a
connection held open that long dies with a laptop's sleep. Each action connects like `verify` does (the
recipe's login, its pinned host key, sudo as configured), reads or changes what it must, and closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from wizard.app.deploylock import deploy_lock
from wizard.app.learn.course import Course
from wizard.app.learn.drills import Drill, DrillError
from wizard.app.learn.grade import Grade, grade_step
from wizard.app.recipefile import Recipe
from wizard.app.session import Questions, make_transport
from wizard.app.teach import Teacher
from wizard.engine.commands import Masker
from wizard.engine.events import Sink
from wizard.engine.i18n import _
from wizard.engine.runner import Runner
from wizard.engine.secrets import SecretResolver
from wizard.engine.step import Context
from wizard.engine.transports.base import Transport


@dataclass
class Connected:
    transport: Transport
    ctx: Context
    course: Course


@asynccontextmanager
async def connected(recipe: Recipe, questions: Questions, host: str | None = None) -> AsyncIterator[Connected]:
    masker = Masker()
    resolver = SecretResolver(questions.secret, masker=masker)
    transport = make_transport(recipe, questions, masker, host, resolver=resolver)
    try:
        await transport.connect()
        ctx = replace(recipe.context(resolver.resolve), login_user=transport.login_user)
        course = Course(recipe, transport.login_user or None)
        if host:
            course.teacher = Teacher.for_recipe(recipe, transport.login_user or None, host=host)
        yield Connected(transport, ctx, course)
    finally:
        await transport.close()


async def grade(recipe: Recipe, questions: Questions, step: str, host: str | None = None) -> Grade:
    """"Check my work": the step's grade, read only."""
    async with connected(recipe, questions, host) as c:
        found, settings = c.course.pair(step)
        return await grade_step(c.transport, found, settings, c.ctx, c.course.teacher)


async def do_rest(recipe: Recipe, questions: Questions, step: str, sink: Sink,
                  host: str | None = None) -> tuple[Grade, int]:
    """Let the tool do the rest of the step: the grade before (what the learner's work still lacked and how it
    differs, with the diffs, for the comparison), then the step applied as `apply` would, holding the app's
    deploy lock. Returns (grade before, changes made)."""
    async with connected(recipe, questions, host) as c:
        found, settings = c.course.pair(step)
        before = await grade_step(c.transport, found, settings, c.ctx, c.course.teacher)
        runner = Runner(c.transport, [(found, settings)], sink, ctx=c.ctx)
        async with deploy_lock(c.transport, recipe.name) as tag:
            runner.command_env = (tag,)
            changes = await runner.apply_step(found, settings)
        return before, changes


async def break_drill(recipe: Recipe, questions: Questions, drill: Drill, host: str | None = None) -> None:
    """Break the server the drill's way (as root). A break that did not take is an error, not a silent drill."""
    async with connected(recipe, questions, host) as c:
        command = replace(drill.breaks(c.ctx, c.course.teacher.values), root=True)
        answer = await c.transport.run(command, timeout=60)
        if answer.exit_status != 0:
            raise DrillError(_("the drill {name} could not break the server: {why}").format(
                name=drill.name, why=(answer.stderr or answer.stdout).strip() or answer.exit_status))


__all__ = ["Connected", "break_drill", "connected", "do_rest", "grade"]
