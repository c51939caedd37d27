"""The bar on top of every screen: the product and what it does, in the current language, and on the screens
of the flow where the operator is in it ("3 of 9").

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
        super().__init__(self.text(), markup=False)

    @staticmethod
    def text(position: tuple[int, int] | None = None) -> str:
        title = "deploy-wizard — " + _("provision a server, step by step")
        if position is None:
            return title
        return title + "  ·  " + _("{n} of {total}").format(n=position[0], total=position[1])

    def on_mount(self) -> None:
        """The screen's place in the flow is known once the bar is on it (WizardApp.goto sets it)."""
        self.relabel()

    def relabel(self) -> None:
        self.update(self.text(getattr(self.screen, "flow_position", None)))
