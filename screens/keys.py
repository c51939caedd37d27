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
