"""Line breaking for Chinese: between characters, never before a closing mark, never inside an English word.

Rich (and Textual's Content, which wraps with Rich's `divide_line`) breaks lines only at spaces, and so does
Python's textwrap (argparse's help). Chinese has none, so a whole sentence is one "word" that is cut wherever the
width ends: a line starts with "，" or "。", and an English word inside it (a command, a path, a fingerprint) is
cut in two. `words` splits such text the way Chinese typesetting does (GB/T 15834, "kinsoku"):

- a line may break between two Chinese characters, and around an English word, never inside one;
- a closing mark (，。、；：！？）」』》 …) stays with what it closes: it never starts a line;
- an opening mark (（「『《“) stays with what it opens: it never ends one.

Text without a wide character is split exactly as Rich splits it. The screens put `words` in Rich's place
(screens.typeset); the command line's help wraps with `wrap` (wizard.cli.argwords).
"""


from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache

import rich._wrap
from rich.cells import cell_len, get_character_cell_size

NO_START = set("，。、；：！？）」』》〉】〕…・,.;:!?)]}%’”〗～")  # closing marks: never the first on a line
NO_END = set("（「『《〈【〔‘“〖")  # opening marks: never the last on a line
FIRST_WIDE = "\u2e80"  # the first character the pattern below matches: text without one is split as Rich splits it


@cache
def _wide() -> re.Pattern[str]:
    """Compiled on the first text that may hold Chinese (3 ms, a tenth of what the wizard's imports cost before
    its first paint), never for English."""
    return re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


_ORIGINAL = rich._wrap.words


def _atoms(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each unbreakable piece: a wide character, or a run of narrow non-space characters (an
    English word, a path); the spaces after a piece belong to it, those at the start to the first one."""
    index, size = 0, len(text)
    while index < size:
        start = index
        while index < size and text[index].isspace():  # only at the very start: later spaces trail a piece
            index += 1
        if index < size and get_character_cell_size(text[index]) == 2:
            index += 1
        else:
            while index < size and not text[index].isspace() and get_character_cell_size(text[index]) != 2:
                index += 1
        while index < size and text[index].isspace():
            index += 1
        yield start, index


def words(text: str) -> Iterable[tuple[int, int, str]]:
    """`rich._wrap.words` for text with Chinese in it: pieces a line may break between, with the marks that must
    not start or end a line joined to their neighbours."""
    if not text or max(text) < FIRST_WIDE or not _wide().search(text):
        yield from _ORIGINAL(text)
        return
    pieces: list[list[int]] = []
    for start, end in _atoms(text):
        first = text[start:end].lstrip()[:1]
        previous = text[pieces[-1][0]:pieces[-1][1]] if pieces else ""
        glued_after = previous and previous[-1] in NO_END  # an opening mark waits for what it opens
        if pieces and (first in NO_START or glued_after):
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
    for start, end in pieces:
        yield start, end, text[start:end]


def wrap(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` cells (a Chinese character takes two), broken as `words` allows; a
    single word longer than the width keeps its own line."""
    lines: list[str] = []
    line = ""
    for _start, _end, piece in words(text):
        if line and cell_len((line + piece).rstrip()) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines
