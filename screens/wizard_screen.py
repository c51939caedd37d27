"""The base of the wizard's full screens: typed access to the WizardApp that shows them.

Why: Textual types `Screen.app` as any App, but these screens need the wizard's own (its draft, its
navigation). One property that checks the type gives them that, instead of an ignored type error at every
use, and says plainly what went wrong if a screen is ever shown by another app.
"""

from __future__ import annotations

from textual.screen import Screen

from screens.app import WizardApp


class WizardScreen(Screen[None]):
    @property
    def wizard_app(self) -> WizardApp:
        app = self.app
        assert isinstance(app, WizardApp), f"{type(self).__name__} is shown by WizardApp, not {type(app).__name__}"
        return app
