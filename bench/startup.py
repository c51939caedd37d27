#!/usr/bin/env python3
"""Benchmark: from `deploy-wizard` starting (a new Python process) to the first screen drawn.

Prints the median and the spread of N runs (headless Textual, same code path as the terminal) and the ratio
to the 0.5 s target. Nothing here asserts a time.

Usage: python3 bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys, time
started = float(sys.argv[1])
from screens.app import WizardApp

class Timed(WizardApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.done)

    def done(self):
        print(f"{time.time() - started:.4f}")
        self.exit()

Timed().run(headless=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        started = time.time()
        out = subprocess.run([sys.executable, "-c", CHILD, str(started)], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        times.append(float(out.strip().splitlines()[-1]))
    median = statistics.median(times)
    print(f"startup to first screen, {args.runs} runs: median {median * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"ratio to the 0.5 s target: {median / 0.5:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
