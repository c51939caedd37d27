#!/usr/bin/env python3
"""Benchmark: from typing `deploy-wizard` to the Welcome screen on the terminal (first paint).

Each run starts the real command as a new process (`python -m wizard`, what the console script runs: the whole
CLI, its parser, the draft expiry, then the wizard) on a pseudo-terminal of 80x24, as a person's terminal
would, and times until the Welcome screen's title has been written to that terminal. That is the moment the
person sees the wizard; the process is then closed with Ctrl+Q. Drafts and journals go to a temporary state
directory, so a run measures the same thing on any machine. The parsed CSS the wizard keeps in the user's cache
(screens.css_cache) is the bench's own too: warm after the first run, as after any first start; one more series
has an empty cache every run, the first start after an install or an upgrade of Textual.

`--against DIR` times another checkout of deploy-wizard too (for example `/work/main` against a branch's work
tree), in the same run: the two alternate run by run (the order swapped each round), so that a change of the
machine's load falls on both alike, and the ratio of their medians is printed.

Prints min, median and max over N runs, the process's own CPU time at that moment (which the machine's load
changes far less than the wall time: a figure to compare across runs on a busy machine), the ratio of the median
to the 0.3 s target, and two floors measured in the same run: a Python process that starts and exits doing
nothing, and the smallest Textual app (one line of text, the same title, same terminal): what Textual itself
costs before its first frame, which no change of this project can go below without changing Textual. Nothing
here asserts a time.

Usage: python3 bench/startup.py [--runs 10] [--lang en|zh_CN] [--against DIR]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.3
# what the Welcome screen's title says in each language: written once the screen is painted
TITLES = {"en": "Welcome to deploy-wizard", "zh_CN": "欢迎使用 deploy-wizard"}


def compiled() -> dict[str, str]:
    """The environment of a wizard that runs compiled code, as an installed one does (pip compiles it): its
    bytecode written once to a cache of its own and read from there, even where PYTHONDONTWRITEBYTECODE is set
    (as in this project's sandboxes); without it every start compiles the project's sources again."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "deploy-wizard-bench-pycache")}


def cpu_seconds(pid: int) -> float:
    """The process's own CPU time so far (user + system, /proc/PID/stat): what the machine's load does not change."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the smallest Textual app that paints the same title: the floor that Textual's import and first frame set
BARE_TEXTUAL = ("from textual.app import App\nfrom textual.widgets import Static\n"
                "class Bare(App):\n    def compose(self):\n        yield Static({title!r})\n"
                "    def on_key(self, event):\n        self.exit()\nBare().run()\n")


def first_paint(lang: str, state: str, root: Path = ROOT, timeout: float = 20.0, *,
                bare_textual: bool = False, cache: str | None = None) -> tuple[float, float]:
    """Seconds from starting `deploy-wizard` (the checkout in `root`: run from there, `python -m wizard` imports
    its code) on a new terminal to its Welcome title on that terminal, and the CPU seconds the process had used by
    then. `bare_textual`: the same for the smallest Textual app showing that title (BARE_TEXTUAL). `cache`: the
    user's cache directory (the parsed CSS the wizard keeps, screens.css_cache); by default one under `state`,
    shared by the runs, so that it is warm after the first, as on any machine after the wizard's first start."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**compiled(), "TERM": "xterm-256color", "XDG_STATE_HOME": state, "LANG": "C.UTF-8",
           "DEPLOY_WIZARD_LANG": lang, "XDG_CACHE_HOME": cache or str(Path(state) / "cache")}
    marker = TITLES[lang].encode()
    started = time.monotonic()
    command = (["-c", BARE_TEXTUAL.format(title=TITLES[lang])] if bare_textual else ["-m", "wizard", "--lang", lang])
    process = subprocess.Popen([sys.executable, *command], cwd=root, env=env, stdin=slave,
                               stdout=slave, stderr=slave, start_new_session=True, close_fds=True)
    os.close(slave)
    seen, painted, cpu = b"", None, 0.0
    try:
        while painted is None and time.monotonic() - started < timeout:
            ready, _w, _x = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                seen += os.read(master, 65536)
            except OSError:  # the process ended before painting
                break
            if marker in seen:
                painted = time.monotonic() - started
                cpu = cpu_seconds(process.pid)
        if painted is None:
            raise SystemExit(f"no Welcome screen within {timeout:.0f} s; the terminal showed:\n"
                             f"{seen[-2000:].decode('utf-8', 'replace')}")
        os.write(master, b"\x11")  # Ctrl+Q: quit as a person would
        _drain_until_exit(master, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    return painted, cpu


def _drain_until_exit(master: int, process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Read what the app writes as it closes (a full terminal would block it) until it ends."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        ready, _w, _x = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break


def bare_python() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - started


class Figures:
    """One checkout's runs: wall and CPU seconds to the first paint, and the floor measured between them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.times: list[float] = []
        self.cpus: list[float] = []

    def take(self, lang: str, state: str, cache: str | None = None) -> None:
        painted, cpu = first_paint(lang, state, self.root, cache=cache)
        self.times.append(painted)
        self.cpus.append(cpu)

    def report(self, lang: str, label: str) -> None:
        ms = [t * 1000 for t in self.times]
        cpus = [c * 1000 for c in self.cpus]
        print(f"{label}: deploy-wizard to the Welcome screen painted (80x24 pty, {lang}), {len(ms)} runs: "
              f"min {min(ms):.0f} ms, median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms")
        print(f"  its own CPU time by then: min {min(cpus):.0f} ms, median {statistics.median(cpus):.0f} ms, "
              f"max {max(cpus):.0f} ms (a busy machine changes it far less)")
        print(f"  median / the {TARGET} s target: {statistics.median(self.times) / TARGET:.2f}")


def checkout(text: str) -> Path:
    """--against: a directory holding another checkout of deploy-wizard (its wizard package)."""
    path = Path(text).expanduser().resolve()
    if not (path / "wizard" / "__main__.py").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a checkout of deploy-wizard (no wizard/__main__.py in it)")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs to take min, median and max over (at least 5)")
    parser.add_argument("--lang", choices=sorted(TITLES), default="en")
    parser.add_argument("--against", type=checkout, metavar="DIR",
                        help="another checkout (e.g. /work/main) timed in the same run, alternating with this one")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs: at least 5, so that the median means something")
    sides = [Figures(ROOT)] + ([Figures(args.against)] if args.against else [])
    cold = Figures(ROOT)  # each run with an empty cache: the first start after an install or an upgrade
    floor, textual_floor = [], []
    with tempfile.TemporaryDirectory(prefix="dw-startup-") as state:
        for side in sides:  # warm: the bytecode caches written once, as on any machine after install
            first_paint(args.lang, state, side.root)
        first_paint(args.lang, state, bare_textual=True)
        for round_ in range(args.runs):
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                side.take(args.lang, state)
            with tempfile.TemporaryDirectory(prefix="dw-cache-") as empty:
                cold.take(args.lang, state, cache=empty)
            floor.append(bare_python())
            textual_floor.append(first_paint(args.lang, state, bare_textual=True)[0])
    for side in sides:
        side.report(args.lang, str(side.root))
    cold.report(args.lang, f"{ROOT}, each run with an empty cache (the first start after an install)")
    if args.against:
        this, other = (statistics.median(side.times) for side in sides)
        print(f"median of {ROOT} / median of {args.against}: {this / other:.2f}")
    print(f"floor, a Python process doing nothing: median {statistics.median(floor) * 1000:.0f} ms")
    print(f"floor, the smallest Textual app painting the same title: min {min(textual_floor) * 1000:.0f} ms, "
          f"median {statistics.median(textual_floor) * 1000:.0f} ms, max {max(textual_floor) * 1000:.0f} ms")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
