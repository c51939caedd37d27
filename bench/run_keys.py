#!/usr/bin/env python3
"""Benchmark: how fast the Run screen answers a key while a command's output streams into it.

What runs: the wizard (WizardApp, the real Run screen) in its own process on an 80x24 pseudo-terminal, the way
a person's terminal runs it. Its run streams the output of a real command, read by the local transport line by
line, as fast as the command prints it (`--lines`, 100,000 by default), into the screen's sink and into the
run's journal on disk, as a run does (the runner's own bookkeeping is left out: it adds no output).

What is timed, from outside, as the person sees it: a key is written to the terminal while the output streams,
and the clock stops when what the key does is on the terminal:
- Home: the first line the screen keeps is in view. Past the 10,000 lines it keeps, that line changes as the
  output streams and can't be told from outside, so this answer is read from the wizard: the moment it writes
  the first frame drawn with the top of the output in view, on the same clock (CLOCK_MONOTONIC) as the press;
- F3 (twice): the footer says "Folded output", then "All output" again (F3 redraws every line kept);
- F1 then ?: the help opens (its text is on the terminal), then the Run screen's title is back.
End follows each Home, untimed, so that the output follows the stream again.

Every key pressed while the output streams counts: one answered only once the stream had ended is said so (the
person waited for all of it), one not answered within 10 s counts as 10 s and is said so. New streams start until
every key has `--rounds` (at least 5) presses. Prints min, median and max per key and over all keys, the ratio of
the median and the max to the 100 ms target, how long each stream took, and how many lines each run's journal
holds (it must hold every line). Nothing here asserts a time. `--kind apt` streams apt/dpkg progress lines (the
screen folds them into one counting line, so Home is not timed), `plain` lines that are each shown, `mixed` both.

Usage: python3 bench/run_keys.py [--lines 100000] [--rounds 5] [--kind plain|apt|mixed]
"""

from __future__ import annotations

import argparse
import fcntl
import json
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
TARGET = 0.1
WAIT = 10.0  # seconds a key may take before it counts as not answered
HOST = "bench.example.com"
# a person's keys as the terminal sends them (xterm), and what shows that each was answered
KEYS = {"home": b"\x1b[H", "end": b"\x1b[F", "f3": b"\x1bOR", "f1": b"\x1bOP", "?": b"?"}
# the producer: `count` lines as fast as Python prints them (the pipe fills; the wizard is the bottleneck)
PRODUCER = r"""
import sys
count, kind = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for n in range(count):
    apt = kind == "apt" or (kind == "mixed" and (n // 500) % 2 == 0)
    if apt:
        out.write(f"Unpacking libexample{n} (1.{n}-1) over (1.{n}-0) ...\n")
    else:
        out.write(f"compiling src/module_{n:06d}.c -> build/module_{n:06d}.o [{n + 1}/{count}]\n")
"""


def child(lines: int, kind: str, side: str) -> None:
    """The wizard on this terminal, its Run screen streaming the producer's output (`--child`)."""
    sys.path.insert(0, str(ROOT))

    from textual.drivers.linux_driver import LinuxDriver

    from screens.app import WizardApp
    from screens.run import RunScreen
    from screens.run_output import RunLog
    from wizard.app.draft import Draft
    from wizard.engine.commands import cmd
    from wizard.engine.events import (
        ChangeDone,
        ChangeStarted,
        OutputLine,
        RunFinished,
        StepFinished,
        StepStarted,
        StepStatus,
        fan_out,
    )
    from wizard.engine.sinks import JournalSink
    from wizard.engine.transports.local import LocalTransport

    def say(**data: object) -> None:
        with open(side, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(data) + "\n")

    homed: list[RunLog] = []  # Home pressed on this log (its own key or the screen's), its frame not written yet
    scroll_home = RunLog.action_scroll_home

    def home(log: RunLog) -> None:
        scroll_home(log)
        homed[:] = [log]

    RunLog.action_scroll_home = home  # type: ignore[method-assign]

    class Driver(LinuxDriver):
        def write(self, data: str) -> None:
            super().write(data)
            if homed and homed[0].scroll_y == 0:  # the first frame drawn since Home, the top in view
                homed.clear()
                say(event="home shown", at=time.monotonic())

    class StreamRun(RunScreen):
        async def run_recipe(self) -> None:
            journal = JournalSink(self.recipe.name, HOST)
            emit = fan_out(self.sink, journal)
            step, started = "os_updates", time.monotonic()
            command = cmd(sys.executable, "-c", PRODUCER, str(lines), kind)
            emit(StepStarted(step=step, index=0, total=1))
            emit(ChangeStarted(step=step, why="stream a long output", description="producer"))
            count = 0

            def output(stream: str, text: str) -> None:
                nonlocal count
                emit(OutputLine(step=step, stream=stream, text=text))
                count += 1
                if count == 1000:  # the first line is out of view: the parent starts its keys
                    say(event="flowing", at=time.monotonic())

            say(event="started", at=started)
            result = await LocalTransport()._exec(command.shell(), None, output, 600)
            seconds = time.monotonic() - started
            emit(ChangeDone(step=step, description="producer", exit_status=result.exit_status))
            emit(StepFinished(step=step, status=StepStatus.CHANGED, changes=1, seconds=seconds, round_trips=1))
            emit(RunFinished(ok=True, changes=1, changed_steps=[step], seconds=seconds, round_trips=1))
            journal.close()
            self.flush()
            say(event="done", at=time.monotonic(), journal=str(journal.path))

    class Bench(WizardApp):
        def get_driver_class(self) -> type[Driver]:
            return Driver

        def on_mount(self, event: events.Mount) -> None:
            event.prevent_default()  # the Run screen, not the Welcome screen
            draft = Draft(name="bench")
            draft.target = {"host": HOST, "user": "admin", "port": 22}
            draft.enabled = {"os_updates"}
            self.draft = draft
            self.push_screen(StreamRun(draft.recipe()))

    if os.environ.get("RUN_KEYS_PROFILE"):  # where the wizard's time goes (a cProfile file, for pstats)
        import cProfile

        # the parent ends the wizard with SIGTERM: leave through SystemExit, so that the profile is written
        signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
        cProfile.runctx("Bench().run()", globals(), locals(), os.environ["RUN_KEYS_PROFILE"])
    else:
        Bench().run()


def compiled() -> dict[str, str]:
    """The environment of a wizard that runs compiled code, as an installed one does (pip compiles it): its
    bytecode written once to a cache of its own and read from there, even where PYTHONDONTWRITEBYTECODE is set
    (as in this project's sandboxes); without it every start compiles the project's sources again."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "deploy-wizard-bench-pycache")}


def warm_up() -> None:
    """Every screen imported once with compiled() (its bytecode cached), so that no timed key waits for the compiler."""
    code = ("import importlib, pkgutil, screens; import wizard.engine.sinks, wizard.engine.transports.local; "
            "[importlib.import_module('screens.' + m.name) for m in pkgutil.iter_modules(screens.__path__)]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=compiled(), check=True)


class Terminal:
    """The wizard's terminal seen from outside: what it wrote since a point, read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True, close_fds=True)
        os.close(slave)
        self.seen = b""

    def read(self, wait: float) -> None:
        ready, _w, _x = select.select([self.master], [], [], wait)
        if ready:
            try:
                self.seen += os.read(self.master, 1 << 20)
            except OSError:
                pass

    def until(self, marker: bytes, timeout: float) -> float | None:
        """Seconds until `marker` is written after now (None: not within `timeout`); keeps reading meanwhile."""
        self.seen, started = b"", time.monotonic()
        while time.monotonic() - started < timeout:
            if marker in self.seen:
                return time.monotonic() - started
            self.read(0.005)
        return None

    def press(self, key: str, marker: bytes | None, timeout: float = WAIT) -> float | None:
        """Write the key now and time until `marker` is on the terminal."""
        self.seen = b""
        os.write(self.master, KEYS[key])
        return self.until(marker, timeout) if marker is not None else None

    def press_home(self, side: Path, timeout: float = WAIT) -> float | None:
        """Write Home now and time until the wizard says it wrote the frame with the output's top in view."""
        pressed = time.monotonic()
        os.write(self.master, KEYS["home"])
        while time.monotonic() - pressed < timeout:
            shown = [float(e["at"]) for e in events(side)  # type: ignore[arg-type]
                     if e["event"] == "home shown" and float(e["at"]) >= pressed]  # type: ignore[arg-type]
            if shown:
                return shown[0] - pressed
            self.read(0.005)
        return None

    def settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.01)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)


def events(side: Path) -> list[dict[str, object]]:
    if not side.exists():
        return []
    return [json.loads(line) for line in side.read_text().splitlines()]


def runs(side: Path) -> list[dict[str, object]]:
    """The stream's own events (started, flowing, done), without the frames Home drew."""
    return [event for event in events(side) if event["event"] != "home shown"]


def one_run(lines: int, kind: str) -> tuple[dict[str, list[float]], dict[str, int], float, int]:
    """One wizard streaming `lines` lines, the keys pressed round after round while it streams; the times per
    key, how many of them were answered only once the stream had ended, the stream's length in seconds, and the
    lines of output in the journal."""
    from wizard.engine.i18n import _

    with tempfile.TemporaryDirectory(prefix="dw-runkeys-") as state:
        side = Path(state) / "side.jsonl"
        env = {**compiled(), "TERM": "xterm-256color", "XDG_STATE_HOME": state, "LANG": "C.UTF-8",
               "DEPLOY_WIZARD_LANG": "en"}
        terminal = Terminal([sys.executable, __file__, "--child", "--lines", str(lines), "--kind", kind,
                             "--side", str(side)], env)
        timed: dict[str, list[float]] = {"home": [], "f3 on": [], "f3 off": [], "f1": [], "?": []}
        late: dict[str, int] = {}
        markers = [("home", "home", None), ("end", None, None), ("f3", "f3 on", _("Folded output")),
                   ("f3", "f3 off", _("All output")), ("f1", "f1", _("scroll the output")),
                   ("?", "?", _("Running on {host}").format(host=HOST))]
        if kind == "apt":  # folded into one counting line, the output never leaves the first line's screen
            del timed["home"]
            markers = markers[2:]
        try:
            deadline = time.monotonic() + 60
            while len(runs(side)) < 2 and time.monotonic() < deadline:
                terminal.settle(0.05)
            if len(runs(side)) < 2:
                raise SystemExit("the wizard did not stream:\n" + terminal.seen[-3000:].decode(errors="replace"))
            while len(runs(side)) < 3:  # a round of keys at a time, while the output streams
                for key, name, marker in markers:
                    streaming = len(runs(side)) < 3  # pressed while the output streams: it counts
                    seconds = (terminal.press_home(side) if key == "home" else
                               terminal.press(key, marker.encode() if marker else None))
                    if name is not None and streaming:
                        if seconds is None:  # counted as the 10 s waited, and said
                            seconds, late[f"{name} unanswered"] = WAIT, late.get(f"{name} unanswered", 0) + 1
                        elif len(runs(side)) == 3:  # the person waited for the whole rest of the stream
                            late[name] = late.get(name, 0) + 1
                        timed[name].append(seconds)
                    terminal.settle(0.15)
            started, _flowing, done = runs(side)
            streamed = float(done["at"]) - float(started["at"])  # type: ignore[arg-type]
            journal = Path(str(done["journal"]))
            kept = sum(1 for line in journal.read_text().splitlines() if '"event": "output"' in line)
        finally:
            terminal.close()
    return timed, late, streamed, kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of keys during one stream (at least 5)")
    parser.add_argument("--kind", choices=("plain", "apt", "mixed"), default="plain")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.lines, args.kind, args.side)
        return 0
    if args.rounds < 5:
        parser.error("--rounds: at least 5, so that the median means something")
    sys.path.insert(0, str(ROOT))
    warm_up()
    timed: dict[str, list[float]] = {}
    late: dict[str, int] = {}
    streams: list[tuple[float, int]] = []
    while not timed or min(len(times) for times in timed.values()) < args.rounds:  # a new stream, until N
        found, ended, streamed, kept = one_run(args.lines, args.kind)
        streams.append((streamed, kept))
        for name, times in found.items():
            timed.setdefault(name, []).extend(times)
        for name, count in ended.items():
            late[name] = late.get(name, 0) + count
    every = [t for times in timed.values() for t in times]
    print(f"{args.lines} {args.kind} lines streamed into the Run screen (80x24 pty), {len(streams)} streams: "
          f"{', '.join(f'{s:.1f}' for s, _k in streams)} s; "
          f"the journal held {', '.join(str(k) for _s, k in streams)} lines of output")
    for name, times in timed.items():
        ms = [t * 1000 for t in times]
        after = f"; {late[name]} answered only once the stream had ended" if late.get(name) else ""
        if late.get(f"{name} unanswered"):
            after += f"; {late[f'{name} unanswered']} not answered within {WAIT:.0f} s (counted as {WAIT:.0f} s)"
        print(f"  {name:7} {len(ms)} presses: min {min(ms):.0f} ms, median {statistics.median(ms):.0f} ms, "
              f"max {max(ms):.0f} ms{after}")
    ms = [t * 1000 for t in every]
    print(f"every key, {len(ms)} presses: min {min(ms):.0f} ms, median {statistics.median(ms):.0f} ms, "
          f"max {max(ms):.0f} ms")
    print(f"median / the {TARGET * 1000:.0f} ms target: {statistics.median(every) / TARGET:.2f}; "
          f"max / target: {max(every) / TARGET:.2f}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
