"""Which steps the wizard shows together, on which screen: one table instead of a file per screen.

Why a table: a screen that holds steps is only a title and a list of step names; the StepScreen draws any
of them. Why the steps still come from the registry: a step package of the operator's own adds steps the
table cannot know, and each of those gets a screen of its own (titled by the step, its form generated
from its settings model), placed among the others by the step's `order`. A name in the table that is not
installed is left out, and a page left empty is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wizard.engine.i18n import _
from wizard.engine.step import Step


@dataclass(frozen=True)
class Page:
    """One step screen. The title is a function: F2 redraws a live screen in the other language."""

    title: Callable[[], str]
    steps: tuple[str, ...]

    @property
    def key(self) -> str:
        """A stable name for the page (tests and snapshots use it): its step names."""
        return "+".join(self.steps)


# The built-in steps, grouped the way the tutorial builds a server; in the order of their steps' `order`.
PAGES: tuple[Page, ...] = (
    Page(lambda: _("Deployment goals"), ("goals",)),
    Page(lambda: _("Where it runs"), ("environment",)),
    Page(lambda: _("System updates and the deploy user"), ("os_updates", "deploy_user")),
    Page(lambda: _("Python and virtual environment"), ("python",)),
    Page(lambda: _("Code"), ("code",)),
    Page(lambda: _("Database"), ("database",)),
    Page(lambda: _("nginx, gunicorn and static files"), ("static", "app_server", "nginx")),
    Page(lambda: _("Redis and background workers"), ("redis", "workers")),
    Page(lambda: _("HTTPS and firewall"), ("tls", "firewall")),
    Page(lambda: _("Monitoring and logs"), ("monitoring",)),
    # backups run before the database step (its migrations take a dump), but are asked last, beside the jobs
    Page(lambda: _("Scheduled jobs and backups"), ("jobs", "backups")),
)


def pages(installed: Iterable[Step], table: Iterable[Page] = PAGES) -> list[Page]:
    """The step screens for the installed steps (given in order): the table's, and one per step it does not
    name, placed before the first table page whose steps all come later."""
    steps = {step.name: step for step in installed}
    named = {name for page in table for name in page.steps}
    own = [Page(step.label, (step.name,)) for step in sorted(steps.values(), key=lambda s: (s.order, s.name))
           if step.name not in named]
    result: list[Page] = []
    for page in table:
        held = tuple(name for name in page.steps if name in steps)
        if not held:
            continue
        first = min(steps[name].order for name in held)
        while own and steps[own[0].steps[0]].order < first:
            result.append(own.pop(0))
        result.append(Page(page.title, held))
    return result + own
