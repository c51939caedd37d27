"""The bar on top of every screen: the product and what it does, in the current language.

Not Textual's Header: that one follows the app title through a watcher, which can fire while a screen is
being replaced (the wizard switches screens a lot) and then fails to find its own label.
"""

from __future__ import annotations

from textual.widgets import Static

from wizard.engine.i18n import _


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        text-style: bold;
        content-align: center middle;
    }
    """

    def __init__(self) -> None:
        super().__init__("deploy-wizard — " + _("provision a server, step by step"), markup=False)
