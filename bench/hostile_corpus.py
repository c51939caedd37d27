#!/usr/bin/env python3
"""The hostile-value corpus in full (issue 17): every schema field x every hostile value x three modes.

Prints how many cases were rejected cleanly (a RecipeError naming the line, or the field for --set), accepted
safely (read back the same, quoted in every planned command and env file), and the failures: tracebacks,
hangs (over --timeout seconds), refusals that name no place, accepted values found unquoted. The goal is 0
tracebacks and 0 hangs. Everything runs in-process against the loader, the validators and the plans on a
fresh server (the wizard's preview); no server is needed.

Each case runs in a worker process, watched from here: a case that does not answer within --timeout is a hang,
the worker is killed and a new one goes on with the next case.

Usage: python3 bench/hostile_corpus.py [--timeout 10] [--modes yaml,raw,set] [--show 20] [--review]
  --review: also list config files (other than env files) that hold an accepted value with characters a
            config syntax may read, for a person to look at (doubles the time)
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_corpus import (  # noqa: E402
    FAILURES,
    Case,
    Outcome,
    cases,
    describe,
    file_mentions,
    load_case,
    run_case,
    schema_fields,
    uncovered,
)

SHORT = {Outcome.REJECTED.value: "rejected", Outcome.ACCEPTED.value: "accepted", Outcome.TRACEBACK.value: "traceback",
         Outcome.HANG.value: "hang", Outcome.UNCLEAR.value: "unclear", Outcome.SUSPECT.value: "suspect"}


def worker(conn: Connection, modes: tuple[str, ...], start: int, review: bool) -> None:
    """Run the cases from `start` on, sending (index, outcome, detail, seconds, files to review) for each."""
    from wizard.engine import i18n

    i18n.set_language("en")
    for index, case in enumerate(cases(schema_fields(), modes)):
        if index < start:
            continue
        began = time.monotonic()
        outcome, detail = run_case(case)
        files = file_mentions(load_case(case), case) if review and outcome is Outcome.ACCEPTED else []
        conn.send((index, outcome.value, detail, time.monotonic() - began, files))
    conn.send(None)


def run(modes: tuple[str, ...], timeout: float, review: bool) -> tuple[list[Case], dict[int, tuple], float]:
    """Every case's result by index; a case over `timeout` is recorded as a hang and the worker restarted."""
    every = list(cases(schema_fields(), modes))
    results: dict[int, tuple] = {}
    context = multiprocessing.get_context("fork")
    started = time.monotonic()
    start = 0
    while start < len(every):
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=worker, args=(child, modes, start, review), daemon=True)
        process.start()
        child.close()
        while True:
            if not parent.poll(timeout):
                results[start] = (Outcome.HANG.value, f"no answer within {timeout:.0f} s", timeout, [])
                process.kill()
                break
            try:
                message = parent.recv()
            except EOFError:  # the worker died (a crash of the interpreter): that case is a traceback
                results[start] = (Outcome.TRACEBACK.value, f"the worker died (exit {process.exitcode})", 0.0, [])
                break
            if message is None:
                start = len(every)
                break
            index, *result = message
            results[index] = tuple(result)
            start = index + 1
            if start % 2000 == 0:
                print(f"  {start}/{len(every)} cases, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        process.join(5)
        start = max(start, max(results, default=-1) + 1)
    return every, results, time.monotonic() - started


def report(every: list[Case], results: dict[int, tuple], seconds: float, show: int) -> int:
    fields = schema_fields()
    totals = Counter(results[i][0] for i in range(len(every)))
    by_mode = {mode: Counter(results[i][0] for i, c in enumerate(every) if c.mode == mode)
               for mode in dict.fromkeys(c.mode for c in every)}
    print(f"hostile corpus: {len(fields)} schema fields, {len(every)} cases in {seconds:.0f} s "
          f"(slowest case {max(r[2] for r in results.values()):.2f} s)")
    if uncovered(fields):
        print("fields the corpus cannot feed:", ", ".join(f.dotted for f in uncovered(fields)))
    order = [o.value for o in (Outcome.REJECTED, Outcome.ACCEPTED, *FAILURES)]
    print("columns: " + "; ".join(f"{SHORT[name]} = {name}" for name in order))
    print(f"{'':8}" + "".join(f"{SHORT[name]:>11}" for name in order))
    for mode, counts in [*by_mode.items(), ("total", totals)]:
        print(f"{mode:8}" + "".join(f"{counts.get(name, 0):>11}" for name in order))
    categories = sorted({c.category for c in every})
    print("\nby category (rejected / accepted / failures):")
    for category in categories:
        counts = Counter(results[i][0] for i, c in enumerate(every) if c.category == category)
        failed = sum(counts.get(o.value, 0) for o in FAILURES)
        print(f"  {category:22} {counts.get(Outcome.REJECTED.value, 0):6} / "
              f"{counts.get(Outcome.ACCEPTED.value, 0):5} / {failed}")
    failures = [(i, results[i]) for i in range(len(every)) if results[i][0] in {o.value for o in FAILURES}]
    for index, (outcome, detail, _seconds, _files) in failures[:show]:
        print(f"\n{outcome.upper()}: {describe(every[index])}\n{detail.rstrip()[-1200:]}")
    reviews = [(every[i], f) for i, r in results.items() for f in r[3]]
    if reviews:
        print(f"\nfor review: {len(reviews)} accepted values stand in a config file")
        for case, mention in reviews[:show]:
            print(f"  {describe(case)}: {mention}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take before it is a hang")
    parser.add_argument("--modes", default="yaml,raw,set", help="which modes, comma-separated")
    parser.add_argument("--show", type=int, default=20, help="how many failures to print in full")
    parser.add_argument("--review", action="store_true", help="list config files that hold accepted values")
    args = parser.parse_args()
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    every, results, seconds = run(modes, args.timeout, args.review)
    return report(every, results, seconds, args.show)


if __name__ == "__main__":
    raise SystemExit(main())
