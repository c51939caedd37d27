"""Step screen: Python and virtual environment."""

from __future__ import annotations

from screens.step_screen import StepScreen


class PythonScreen(StepScreen):
    STEPS = ("python",)
    TITLE = "Python and virtual environment"
