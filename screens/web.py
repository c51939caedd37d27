"""Step screen: nginx, gunicorn and static files."""

from __future__ import annotations

from screens.step_screen import StepScreen


class WebScreen(StepScreen):
    STEPS = ("static", "app_server", "nginx")
    TITLE = "nginx, gunicorn and static files"
