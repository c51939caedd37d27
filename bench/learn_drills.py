#!/usr/bin/env python3
"""Every "break and fix" drill of `deploy-wizard learn` on one practice server (issue 21; CI runs four of them in
tests/live/test_learn.py): the course is done by the tool (`learn do --yes`, step by step), then each drill is
broken, must be detected by `learn check` (the step's own checks fail, with reasons), is fixed by hand the way a
person would (never `apply`), and must be graded fixed. For each: what a user sees broken and fixed, and the
seconds each phase took.

Usage (root, Linux): python3 bench/learn_drills.py [--release trixie|bookworm] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live.conftest import cli, require_sandbox  # noqa: E402
from tests.live.learning import DRILL_CASES, status  # noqa: E402
from wizard.lab import sandbox  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", choices=list(sandbox.RELEASES), default=sandbox.DEFAULT_RELEASE)
    parser.add_argument("--only", nargs="*", help="these drills only")
    args = parser.parse_args()
    require_sandbox()
    work = Path(tempfile.mkdtemp(prefix="learn-drills-"))
    name = "b" + secrets.token_hex(4)

    def learn(*words: str) -> tuple[int, str]:
        done = cli(work, "learn", "--learner", "bench", "--sandbox", name, "--release", args.release, *words)
        return done.returncode, done.stdout + done.stderr

    failures = 0
    try:
        started = time.monotonic()
        code, out = learn()
        assert code == 0, out
        for _step in range(11):
            code, out = learn("do", "--yes")
            assert code == 0, out
        print(f"course done by the tool in {time.monotonic() - started:.0f} s", flush=True)
        print(f"{'drill':16} {'broken':>7} {'seen':>10} {'detected':>9} {'fixed':>10} {'graded':>7}")
        for drill, seen, broken_sees, fixed_sees, fix in DRILL_CASES:
            if args.only and drill not in args.only:
                continue
            t0 = time.monotonic()
            code, said = learn("drill", drill)
            broke = code == 0
            t1 = time.monotonic()
            seen_broken = seen(name)
            code, out = learn("check", "--json")
            detected = code == 1 and not json.loads(out[out.index("{"):out.rindex("}") + 1])["passed"]
            said += out
            t2 = time.monotonic()
            fixed = status(name, fix, timeout=600) == 0 if broke else False  # a fix of what never broke would only fail
            seen_fixed = seen(name)
            code, out = learn("check")
            graded = code == 0 and "Drill fixed" in out
            said += out
            t3 = time.monotonic()
            ok = broke and detected and fixed and graded and seen_broken == broken_sees and seen_fixed == fixed_sees
            failures += not ok
            print(f"{drill:16} {t1 - t0:6.1f}s {seen_broken!s:>4}->{seen_fixed!s:<5} {t2 - t1:8.1f}s "
                  f"{t3 - t2:9.1f}s {'yes' if ok else 'NO':>7}", flush=True)
            if not ok:  # what the drill, the check and the grade said
                print(said[-4000:])
    finally:
        sandbox.down(name, progress=lambda m: None)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
