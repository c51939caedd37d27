#!/usr/bin/env python3
"""Benchmark: one recipe on N fresh sandbox servers at once versus on one.

Boots N+1 sandboxes, applies examples/sandbox.yaml to one of them alone, then to the other N in parallel
(--parallel N), and prints both wall times and their ratio (1.0 would be perfect scaling). A no-op re-apply
of the N is timed too. Nothing here asserts a time.

Usage (root, Linux): python3 bench/fleet.py [--hosts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.app.fleet import run_fleet  # noqa: E402
from wizard.app.recipefile import load  # noqa: E402
from wizard.app.session import Questions  # noqa: E402
from wizard.lab import sandbox  # noqa: E402


def timed(recipe, hosts: list[str], parallel: int) -> tuple[float, list]:  # noqa: ANN001
    started = time.perf_counter()
    results = asyncio.run(run_fleet(recipe, "apply", hosts, lambda host: (lambda event: None), Questions(),
                                    parallel=parallel))
    return time.perf_counter() - started, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--hosts", type=int, default=10)
    args = parser.parse_args()
    sandbox.check_host()
    boxes = []
    try:
        started = time.perf_counter()
        for _ in range(args.hosts + 1):
            boxes.append(sandbox.up(progress=lambda m: None))
        print(f"booted {len(boxes)} sandboxes in {time.perf_counter() - started:.1f} s")
        recipe = load(ROOT / "examples" / "sandbox.yaml")
        one, results = timed(recipe, [boxes[0].ip], 1)
        assert all(r.status == "ok" for r in results), results
        many, results = timed(recipe, [b.ip for b in boxes[1:]], args.hosts)
        failed = [r for r in results if r.status != "ok"]
        again, _ = timed(recipe, [b.ip for b in boxes[1:]], args.hosts)
        print(f"first apply, 1 host:              {one:6.1f} s")
        print(f"first apply, {args.hosts} hosts in parallel: {many:6.1f} s  ({len(failed)} failed)")
        print(f"no-op re-apply, {args.hosts} hosts:        {again:6.1f} s")
        print(f"ratio {args.hosts} hosts / 1 host: {many / one:.2f}  (1.00 = perfect scaling)")
    finally:
        for box in boxes:
            sandbox.down(box.name, progress=lambda m: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
