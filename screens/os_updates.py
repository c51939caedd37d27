"""Step screen: System updates and the deploy user."""

from __future__ import annotations

from screens.step_screen import StepScreen


class OsUpdatesScreen(StepScreen):
    STEPS = ("os_updates", "deploy_user")
    TITLE = "System updates and the deploy user"
