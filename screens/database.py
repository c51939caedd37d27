"""Step screen: Database."""

from __future__ import annotations

from screens.step_screen import StepScreen


class DatabaseScreen(StepScreen):
    STEPS = ("database",)
    TITLE = "Database"
