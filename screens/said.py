"""Texts that follow the language: a widget keeps how its text is said (a function), not the text, so F2 says it
again in place.

Why in place: rebuilding a screen in the other language loses what lives only on the screen (a plan already read
from the server, a switch turned on, the checks that ran, a password half typed, the focus). A screen made of
these widgets keeps all of that; F2 only changes its words. A widget of its own may say its words again too: any
widget with a `relabel()` method is called (the title bar, the checks' results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode
from textual.widgets import Button, Static

Say = Callable[[], str]  # the text in the current language (a lambda around _())


class Said(Static):
    """A Static whose text is `say()`, said again by `relabel()`."""

    def __init__(self, say: Say, **kwargs: Any) -> None:
        super().__init__(say(), **kwargs)
        self.say = say

    def relabel(self) -> None:
        self.update(self.say())


class SaidButton(Button):
    """A Button whose label is `say()`, said again by `relabel()`."""

    def __init__(self, say: Say, **kwargs: Any) -> None:
        super().__init__(say(), **kwargs)
        self.say = say

    def relabel(self) -> None:
        self.label = self.say()
        self.refresh(layout=True)  # Button's label does not resize it: a longer word was cut ("Run these")


def relabel_widgets(node: DOMNode) -> None:
    """Every widget under `node` that can say its words again, in the current language."""
    for widget in node.query("*"):
        relabel = getattr(widget, "relabel", None)
        if callable(relabel):
            relabel()


__all__ = ["Said", "SaidButton", "Say", "relabel_widgets"]
