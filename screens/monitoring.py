"""Step screen: Monitoring and logs."""

from __future__ import annotations

from screens.step_screen import StepScreen


class MonitoringScreen(StepScreen):
    STEPS = ("monitoring",)
    TITLE = "Monitoring and logs"
