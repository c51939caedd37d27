"""Step screen: HTTPS and firewall."""

from __future__ import annotations

from screens.step_screen import StepScreen


class SecurityScreen(StepScreen):
    STEPS = ("tls", "firewall")
    TITLE = "HTTPS and firewall"
