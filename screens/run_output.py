"""The run screen's output pane: package manager progress folded into one counting line, and the state column.

Why fold: installing nginx or PostgreSQL prints hundreds of "Get:", "Unpacking", "Setting up" lines that say
only "apt is working"; they push the lines that matter (a command, a warning, an error) out of an 80x24
screen. A run of them becomes one line that counts and shows the latest; F3 shows every line, and the run's
journal keeps them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.geometry import Size
from textual.widgets import Log

from wizard.app import registry
from wizard.engine import i18n
from wizard.engine.i18n import _, n_

# apt-get and dpkg progress: fetching, unpacking, configuring, triggers; what they install stays visible.
PROGRESS = re.compile(
    r"^(Get:\d+ |Hit:\d+ |Ign:\d+ |Fetched |Selecting previously unselected |Preparing to unpack |Unpacking |"
    r"Setting up |Processing triggers for |\(Reading database \.\.\.|Reading package lists|"
    r"Building dependency tree|Reading state information)")


def is_progress(text: str) -> bool:
    return bool(PROGRESS.match(text.lstrip()))


class Fold:
    """Consecutive progress lines: how many, and the latest (shown as one line of the log)."""

    def __init__(self) -> None:
        self.count = 0
        self.latest = ""
        self.dirty = False  # changed since its line was last drawn

    def add(self, line: str) -> None:
        """One more progress line (as the log shows it: "  | Unpacking ...")."""
        self.count += 1
        self.latest = line.removeprefix("  | ").strip()
        self.dirty = True

    def line(self) -> str:
        self.dirty = False
        return "  ⋯ " + n_("{n} apt/dpkg line", "{n} apt/dpkg lines", self.count).format(n=self.count) + \
            " · " + self.latest


SCROLLBACK = 10_000  # lines the Run screen keeps (as a terminal's scrollback); the run's journal keeps every one


def scrollback_notice() -> str:
    """Said once, when the first line goes out of the screen's memory: where every line still is."""
    from wizard.engine.fsutil import state_dir

    return _("This screen keeps the last {n} lines of output; the run's journal in {folder} keeps every "
            "line.").format(n=f"{SCROLLBACK:,}", folder=state_dir() / "journal")


def cells(line: str) -> int:
    """The cells a line of the log takes as Log draws it (tabs expanded, control characters shown as one cell).
    A line of plain ASCII, what most command output is, takes its length: no per-character measure."""
    if line.isascii() and "\t" not in line:
        return len(line)
    return cell_len(Log._process_line(line))


class RunLog(Log):
    """Textual's Log, whose last line can be replaced (the open fold's line, as it counts), and whose keys jump.

    Why jump: Textual animates Home, End and the page keys over up to a second, drawing every position between;
    in an output of 100,000 lines that is a second before the first line is in view, and frames that show
    nothing anyone reads, while the output keeps coming. A log viewer (less, journalctl) jumps.
    """

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)

    def _update_size(self, updates: int, lines: list[str]) -> None:
        """The widest line, measured here rather than in a thread per write (Log's own way).

        Why: the Run screen writes ten times a second while output streams; a thread each time (and its worker's
        state messages, and its call back into the loop) queued in front of the keys, and measuring every line's
        cells held the interpreter as long as the loop would have. An ASCII line's width is its length.
        """
        if lines:
            self._update_maximum_width(updates, max(map(cells, lines)))

    def show_lines(self, lines: Iterable[str]) -> None:
        """Every line of the log replaced at once, the end in view (F3: up to SCROLLBACK lines).

        Why not clear() and write_lines(): that refreshes and forgets each line's render one by one and measures
        them in a thread; here it is one list, one measure and one refresh of what is in view.
        """
        kept = [part for line in lines for part in line.splitlines()]  # as write_lines splits them
        if self.max_lines is not None:
            kept = kept[-self.max_lines:]
        self._lines = kept
        self._updates += 1
        self._clear_y = 0
        self._render_line_cache.clear()
        self._width = max(map(cells, kept), default=0)
        self.virtual_size = Size(self._width, len(kept))
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def replace_last_line(self, line: str) -> None:
        # Log keeps its lines in _lines and has no public way to change one; a test pins this behaviour.
        if not self._lines:
            self.write_line(line)
            return
        self._lines[-1] = line
        self._width = max(self._width, cells(line))
        self.refresh_lines(len(self._lines) - 1)


_MEASURE = Console(width=200, file=None, legacy_windows=False)  # only measures: wraps text, prints nothing

STATES = {"pending": "·", "running": "▶", "changed": "✚", "ok": "✓", "failed": "✗", "planned": "…", "stopped": "■"}


def state_label(state: str) -> str:
    labels = {"pending": _("pending"), "running": _("running"), "changed": _("changed"), "ok": _("ok"),
              "failed": _("failed"), "planned": _("planned"), "stopped": _("stopped")}
    return STATES.get(state, state) + " " + labels.get(state, state)


STEP_CELLS = 16  # the step column's widest: a longer title wraps (the log keeps the rest of 80 columns)


def step_cell(label: str, width: int) -> str:
    """A step's title in the step column: wrapped at `width` cells, between words (Chinese: between characters)."""
    lines = Text(label).wrap(_MEASURE, width)
    return "\n".join(line.plain.rstrip() for line in lines)


def _in_every_language(measure: Callable[[], int]) -> int:
    """The largest `measure()` over the languages: F2 must never need more room than the screen was drawn with."""
    current, found = i18n.language(), 0
    try:
        for lang in i18n.LANGUAGES:
            i18n.set_language(lang)
            found = max(found, measure())
    finally:
        i18n.set_language(current)
    return found


def column_widths(steps: Iterable[str]) -> tuple[int, int, int]:
    """Cells for the step, state and time columns: the widest title (up to STEP_CELLS) and label in either
    language (Chinese characters take two cells each), so neither the state nor F2 ever cuts one."""
    names = list(steps)
    step = _in_every_language(lambda: min(STEP_CELLS, max([cell_len(_("step")),
                                                          *(cell_len(registry.label(n)) for n in names)])))
    state = _in_every_language(lambda: max(cell_len(_("state")), *(cell_len(state_label(s)) for s in STATES)))
    time = _in_every_language(lambda: max(cell_len(_("time")), cell_len("9999 s")))
    return step, state, time


def row_height(step: str, width: int) -> int:
    """Lines for a step's row: its title wrapped at `width`, in the language that needs the most."""
    return _in_every_language(lambda: len(step_cell(registry.label(step), width).splitlines()))
