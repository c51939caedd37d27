"""Step screen: Code."""

from __future__ import annotations

from screens.step_screen import StepScreen


class CodeScreen(StepScreen):
    STEPS = ("code",)
    TITLE = "Code"
