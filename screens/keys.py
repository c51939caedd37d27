"""Key bindings whose footer text follows the language.

Why: Textual reads a binding's description from the class's BINDINGS, written once at import, so F2 would
leave the footer in the language the wizard started in. A node that shows keys says its texts in a method
(`key_texts`, called again after F2) and `relabel` gives its own bindings those texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from textual.dom import DOMNode


def relabel(node: DOMNode, texts: Mapping[str, str]) -> None:
    """Describe `node`'s bindings by action ({action: text in the current language}); others stay as they are.

    The lists are replaced, not changed in place: a node's bindings share them with its class until then.
    """
    bindings = node._bindings.key_to_bindings  # Textual has no public way to change a description
    for key, items in list(bindings.items()):
        bindings[key] = [replace(item, description=texts[item.action]) if item.action in texts else item
                         for item in items]
    node.refresh_bindings()


NAMED = {"question_mark": "?", "escape": "Esc", "enter": "Enter", "space": "Space", "tab": "Tab",
         "pageup": "PgUp", "pagedown": "PgDn", "up": "↑", "down": "↓", "left": "←", "right": "→",
         "home": "Home", "end": "End", "delete": "Del", "backspace": "Backspace"}


def key_name(key: str) -> str:
    """A bound key as every text of the wizard writes it (footer, help, screens, README): Ctrl+Q, F1, Shift+Tab, ?.

    Why not Textual's own display: it writes `^q` and `f1` in the footer while the texts say Ctrl+Q and F1, and a
    beginner reading three spellings of the same key wonders whether they are three keys."""
    *modifiers, last = key.split("+")
    if len(last) == 1:  # a letter alone is typed as it is (v), with Ctrl it is named as on the keycap (Ctrl+N)
        name = last.upper() if modifiers else last
    elif last[:1] == "f" and last[1:].isdigit():
        name = last.upper()
    else:
        name = NAMED.get(last, last.capitalize())
    return "+".join([*(modifier.capitalize() for modifier in modifiers), name])
