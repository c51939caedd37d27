#!/usr/bin/env python3
"""Benchmark: where the time of a first apply of the whole Flask stack goes, per step and per kind of command.

Boots a fresh sandbox with its lab (the example app over git, pebble as the ACME CA), runs
`deploy-wizard apply examples/flask-app.yaml --json` as a whole process, then reads the run's own events: each
change's `change_done` carries how long it ran (`seconds`), each step's `step_finished` its whole time. The
table splits every step into the kinds of command it ran (apt: apt-get/dpkg; pip: the venv and the packages
in it, pip or uv; systemd: systemctl and systemd-analyze; other: files, users, git, certbot, ...), the checks
run after its changes (verify), and the rest (facts: reading the server and planning, between the commands).
The connection and the deploy lock are outside the steps: the whole process's wall time is printed too.
A first apply has no release before it, so no watch window runs (the switch watches only when it replaces
a release); nothing is subtracted.

Then a second apply of the same recipe must report 0 changes (read from its own `run_finished`), else the
benchmark fails. Nothing here asserts a time: the numbers are for reading. Run it on a quiet machine
(`live-lane --quiet`); `--runs N` repeats the whole thing on a fresh sandbox each time and prints each
table and the median, min and max of the wall times.

With --floor, each round also runs the apt work of that first apply alone, through one plain ssh session, on two
more fresh sandboxes: the same runs one by one as the apply ran them ("its runs alone"), and the same packages in
the fewest runs (bench/floor.py's floor). Then the distance to the floor splits into what the apply's own apt runs
cost beyond running alone (contention with the work beside them), what the split into one run per step costs
(its runs alone minus the floor), and the wall time outside apt (wall - chain: the gaps where no apt ran).

Usage (root, Linux): python3 bench/first_apply.py [--runs 1] [--release trixie|bookworm] [--events DIR]
                     [--set STEP.FIELD=VALUE ...] [--code CHECKOUT --code CHECKOUT] [--floor]
  --code twice compares two checkouts (before and after a change), in turn, each on its own fresh sandbox;
  CHECKOUT+STEP.FIELD=VALUE sets a setting for that one (e.g. . and
  .+os_updates.man_db_auto_update=true: the same code with a setting's two values).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import compiled  # noqa: E402
from tests.live.services import flask_recipe_text, lab  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

KINDS = ("apt", "pip", "systemd", "other")
COLUMNS = ("total", "facts", *KINDS, "verify")
os.environ.setdefault("DEMO_DB_PASSWORD", "bench-password")


def kind_of(description: str) -> str:
    """The kind of one command, from the command line the run showed (what the operator reads too)."""
    text = description.lower()
    if any(word in text for word in ("apt-get", "dpkg", "debconf", "man-db")):
        return "apt"
    if any(word in text for word in ("pip install", "pip3", "-m venv", "uv pip", "uv venv", "/pip ")):
        return "pip"
    if any(text.startswith(word) or f" {word}" in text for word in ("systemctl", "systemd-analyze")):
        return "systemd"
    return "other"


def breakdown(events: list[dict]) -> tuple[dict[str, dict[str, float]], list[tuple[float, str, str, str]], dict]:
    """Seconds per step and column, each command's (seconds, step, kind, description), and the run's last event."""
    table: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0.0))
    commands: list[tuple[float, str, str, str]] = []
    checking, finished = False, {}
    for event in events:
        kind = event.get("event")
        if kind == "change_started":
            checking = bool(event.get("check"))
        elif kind == "change_done":
            column = "verify" if checking else kind_of(event["description"])
            table[event["step"]][column] += event["seconds"]
            commands.append((event["seconds"], event["step"], column, event["description"].splitlines()[0]))
        elif kind == "step_finished":
            row = table[event["step"]]
            row["total"] = event["seconds"]
            row["facts"] = max(0.0, event["seconds"] - sum(row[c] for c in (*KINDS, "verify")))
        elif kind == "run_finished":
            finished = event
    return dict(table), commands, finished


def print_table(table: dict[str, dict[str, float]], wall: float) -> None:
    print(f"{'step':14}" + "".join(f"{c:>9}" for c in COLUMNS))
    sums = dict.fromkeys(COLUMNS, 0.0)
    for step, row in table.items():
        print(f"{step:14}" + "".join(f"{row[c]:9.1f}" for c in COLUMNS))
        for column in COLUMNS:
            sums[column] += row[column]
    print(f"{'all steps':14}" + "".join(f"{sums[c]:9.1f}" for c in COLUMNS))
    print(f"{'whole process':14}{wall:9.1f}   (connection, host key, deploy lock and Python start included)")


def apply(code: Path, recipe: Path, host: str, extra: list[str]) -> tuple[float, list[dict]]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "wizard", "apply", str(recipe), "--host", host, "--yes", "--json",
                           *extra], cwd=code, capture_output=True, text=True, env=compiled())  # as installed
    wall = time.monotonic() - started
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"apply failed (exit {done.returncode})")
    return wall, events


def one_round(args: argparse.Namespace, contender: str, base: Path, number: int) -> float:
    code, *sets = contender.split("+")
    box = sandbox.up(release=args.release, progress=lambda m: None)
    try:
        with lab(box, base / f"lab{number}") as served:
            recipe = base / f"flask-app-{number}.yaml"
            recipe.write_text(flask_recipe_text(served.git_url, served.acme, box.ip))
            extra = [item for pair in [*args.set, *sets] for item in ("--set", pair)]
            wall, events = apply(Path(code).resolve(), recipe, box.ip, extra)
            again_wall, again = apply(Path(code).resolve(), recipe, box.ip, extra)
    finally:
        sandbox.down(box.name, progress=lambda m: None)
    if args.events:
        Path(args.events).mkdir(parents=True, exist_ok=True)
        label = "-".join(part.rsplit("/", 1)[-1] for part in (Path(code).name, *sets))
        kept = Path(args.events) / f"first-apply-{label}-{number}.jsonl"
        kept.write_text("".join(json.dumps(event) + "\n" for event in events))
    table, commands, finished = breakdown(events)
    changes = breakdown(again)[2].get("changes")
    print(f"\n{contender}, round {number + 1}: first apply {wall:.1f} s, {finished.get('changes')} changes; "
          f"re-apply {again_wall:.2f} s, {changes} changes")
    print_table(table, wall)
    print("\nslowest commands:")
    for seconds, step, kind, line in sorted(commands, reverse=True)[:args.top]:
        print(f"  {seconds:6.1f} s  {step:12} {kind:8} {line[:90]}")
    if changes != 0:
        raise SystemExit(f"the re-apply was not a no-op: {changes} changes")
    if args.floor:
        against_floor(args, commands, wall)
    return wall


def against_floor(args: argparse.Namespace, commands: list[tuple[float, str, str, str]], wall: float) -> None:
    """The apply's apt runs (from its events, in the order they were shown) alone, then merged into the floor's
    fewest runs, each on a fresh sandbox; prints the split of wall time (module docstring)."""
    from bench.floor import fewest
    from wizard.engine.commands import without_note
    apt = [(seconds, without_note(line)) for seconds, _step, kind, line in commands
           if kind == "apt" and line.startswith("apt-get ")]
    runs = [shlex.split(line)[2:] if line.startswith("apt-get -y ") else ["update"] for _seconds, line in apt]
    chain = sum(seconds for seconds, _line in apt)
    alone, floor = timed_runs(args, runs), timed_runs(args, fewest(runs))
    print(f"\nagainst the floor: first apply {wall:.1f} s = its {len(runs)} apt runs {chain:.1f} s "
          f"+ outside apt {wall - chain:.1f} s")
    print(f"  the same {len(runs)} runs alone: {sum(alone):.1f} s ({' '.join(f'{x:.1f}' for x in alone)})")
    print(f"  the floor, {len(floor)} runs: {sum(floor):.1f} s ({' '.join(f'{x:.1f}' for x in floor)})")
    print(f"  ratio {wall / sum(floor):.2f}: contention {chain - sum(alone):+.1f} s, "
          f"split {sum(alone) - sum(floor):+.1f} s, outside apt {wall - chain:+.1f} s")


def timed_runs(args: argparse.Namespace, runs: list[list[str]]) -> list[float]:
    """Each run's seconds on the server, all through one ssh session to a fresh sandbox."""
    from bench.floor import run_line
    lines = ["set -e"]
    for run in runs:
        lines += [run_line(run) + " >/dev/null", "echo @ $(date +%s.%N)"]
    box = sandbox.up(release=args.release, progress=lambda m: None)
    try:
        script = "echo @ $(date +%s.%N)\n" + "\n".join(lines) + "\n"
        done = subprocess.run(sandbox.ssh_command(box.name, "root", ["sh"]), input=script, text=True,
                              capture_output=True)
    finally:
        sandbox.down(box.name, progress=lambda m: None)
    if done.returncode != 0:
        raise SystemExit(f"the apt runs alone failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    stamps = [float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("@ ")]
    return [after - before for before, after in zip(stamps, stamps[1:], strict=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="rounds, each on a fresh sandbox (default 1)")
    parser.add_argument("--release", default="trixie", choices=("trixie", "bookworm"))
    parser.add_argument("--events", help="a directory to keep each first apply's JSON events in")
    parser.add_argument("--set", action="append", default=[], metavar="STEP.FIELD=VALUE",
                        help="passed to apply: compare a setting's two values")
    parser.add_argument("--code", action="append", metavar="CHECKOUT[+STEP.FIELD=VALUE...]",
                        help="run the apply from this checkout of deploy-wizard, with these settings for it alone "
                             "(repeat to compare, e.g. main's and a branch's, or one setting's two values; each "
                             "round takes them in turn); default: this one")
    parser.add_argument("--floor", action="store_true",
                        help="also time its apt runs alone and the floor, each on a fresh sandbox (module docstring)")
    parser.add_argument("--top", type=int, default=12, help="how many of the slowest commands to list")
    args = parser.parse_args()
    sandbox.check_host()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="dw-first-apply-") as base:
        codes = args.code or [str(ROOT)]
        walls: dict[str, list[float]] = {code: [] for code in codes}
        for number in range(args.runs):
            for code in codes[number % len(codes):] + codes[:number % len(codes)]:  # the order rotates
                walls[code].append(one_round(args, code, Path(base), number))
    for code, times in walls.items():
        print(f"\n{code}: first apply, {len(times)} run(s): median {statistics.median(times):.1f} s, "
              f"min {min(times):.1f} s, max {max(times):.1f} s")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
