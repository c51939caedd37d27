"""The installed steps, found through the `deploy_wizard.steps` entry-point group.

Why entry points instead of importing `recipes`: the application must not know which steps exist. The
built-in steps are declared in pyproject.toml exactly like a user's own step package declares its steps,
so a plugin appears in the schema, the plan, the wizard, plain mode, the runbook and the exports without
any change here. Steps are ordered by their `order` (the tutorial's order of building a server); the
name of each entry point must equal the step's `name`, the key under `steps:` in a recipe file.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _
from wizard.engine.step import Step

GROUP = "deploy_wizard.steps"


class StepLoadError(DeployWizardError):
    """An installed step package that cannot be loaded: said with the package's name, never a traceback."""

    exit_code = ExitCode.BAD_INPUT


def _load(entry: EntryPoint) -> Step:
    try:
        cls = entry.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin of any kind must be named, not crash the tool
        raise StepLoadError(_("the step {name} ({value}) cannot be loaded: {why}").format(
            name=entry.name, value=entry.value, why=exc)) from None
    if not (isinstance(cls, type) and issubclass(cls, Step)):
        raise StepLoadError(_("the step {name} ({value}) is not a Step class").format(
            name=entry.name, value=entry.value))
    step = cls()
    if step.name != entry.name:
        raise StepLoadError(_("the step {value} is declared as {name} but calls itself {own}").format(
            value=entry.value, name=entry.name, own=step.name))
    return step


@cache
def steps() -> tuple[Step, ...]:
    """Every installed step, in the order a server is built (ties: by name, so the order is stable)."""
    found: dict[str, Step] = {}
    for entry in entry_points(group=GROUP):
        if entry.name not in found:  # the same distribution seen twice on sys.path (editable + site) is one step
            found[entry.name] = _load(entry)
    return tuple(sorted(found.values(), key=lambda step: (step.order, step.name)))


def by_name() -> dict[str, Step]:
    return {step.name: step for step in steps()}


def step(name: str) -> Step:
    """One step by its recipe key; an unknown name is the operator's input error, with the installed names."""
    known = by_name()
    if name not in known:
        raise StepLoadError(_("no step named {name} is installed (installed: {names})").format(
            name=name, names=", ".join(known)))
    return known[name]


def label(name: str) -> str:
    """A step as people read it: its title in the current language (its name when it is not installed), for every
    screen and message that names a step (the recipe key `app_server` means nothing to a new operator)."""
    found = by_name().get(name)
    return found.label() if found is not None else name
