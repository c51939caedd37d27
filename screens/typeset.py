"""Chinese line breaking on every screen: Rich's word splitter replaced by the engine's (wizard.engine.typeset).

Why by replacing Rich's function: both Rich and Textual's Content find the words of a line through
`rich._wrap.words`; putting `wizard.engine.typeset.words` in its place makes every text of the wizard break the
way Chinese typesetting does, while English text is split exactly as before.
"""

from __future__ import annotations

import rich._wrap

from wizard.engine.typeset import _ORIGINAL, NO_END, NO_START, words

__all__ = ["NO_END", "NO_START", "_ORIGINAL", "install", "words"]


def install() -> None:
    """Wrap every Rich and Textual text of this process with `words` (idempotent)."""
    rich._wrap.words = words  # type: ignore[assignment]
