"""Intent: a step whose answers set other steps' defaults (the goals). See wizard/app/goals.py."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from wizard.engine.facts import FactValues
from wizard.engine.step import Context, StepSettings


@runtime_checkable
class Intent(Protocol):
    """A step whose answers set other steps' defaults (the goals: workers from the users at peak and the CPUs).

    Why a hook on the step: the defaults depend on facts (the server's size) read before any step plans, and
    the application must not know which steps hold them. `resolve` returns the step's own settings with what it
    resolved, and {step: {field: value}} for the others; a field the operator set keeps the operator's value.
    """

    def resolve(self, settings: StepSettings, facts: FactValues, ctx: Context) -> tuple[
            StepSettings, dict[str, dict[str, Any]]]: ...

    def explain(self, settings: StepSettings, ctx: Context) -> list[str]:
        """For the runbook: the answers, and each default they give with its reason, rule and source."""
        ...

    def choose(self, values: dict[str, Any], setting: str, mine: bool = True) -> None:
        """The operator set `setting` (`step.field`) in a form or with --set (`mine`), or put it back (--reset):
        when this step fills it in, record in this step's raw `values` whether it is the operator's, so that a
        chosen value is kept even where it is the default."""
        ...


def overridden(settings: StepSettings, field: str) -> bool:
    """Whether the operator chose this setting by its value: written with a value other than its default. A value
    equal to the default is no choice by itself, because a recipe the wizard saves writes every setting, defaults
    included; the intent step names such a setting when the operator chose it (`choose`, goals.own)."""
    info = type(settings).model_fields[field]
    return field in settings.model_fields_set and getattr(settings, field) != info.get_default(
        call_default_factory=True)
