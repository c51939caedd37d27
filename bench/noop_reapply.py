#!/usr/bin/env python3
"""Benchmark: a no-op re-apply of an example recipe on a sandbox server, and where its time goes.

Prints, for the re-apply that changes nothing (each one must report 0 changes, or the bench fails):
- remote commands and round trips, per step and in total (the run's own count: a gather of facts is one round
  trip carrying one command per fact; the connection probe and the deploy lock are counted too);
- wall time, min/median/max over --runs: in-process (connect, facts, plan, close) and as a whole process
  (`python -m wizard apply --yes --json`, whose report is read: it must say 0 changes);
- server-side time of the fact gathers as sent (the same lines, timed on the server with `date +%s%N`), and of
  every fact command alone, per step, slowest first: what to make faster, and the floor (one round trip plus
  this time);
- the same command lines through ONE plain `ssh` session, and through one plain `ssh` per line, for scale;
- the last run's round trips one by one, as seen from here (the connection, the lock, each gather, the release),
  the facts of each gather after the first (what waited for an earlier answer), and the gathers timed on the
  server in 1, 2, 4 and 8 lanes (wizard/engine/gather.py).
Nothing here asserts a time: the numbers are for reading and for the closing notes.

Usage (root, Linux): python3 bench/noop_reapply.py [--runs 5] [--full | --django] [--top 15] [--keep]
                    [--against CHECKOUT] [--profile DIR]
  --full: the whole example stack (examples/flask-app.yaml: Flask + PostgreSQL + nginx + pebble TLS + ufw +
          monitoring), with the same git server and test CA the live tests use; default: examples/sandbox.yaml.
  --django: the Django example the live tests deploy (tests/live/test_django.py's recipe).
  --against CHECKOUT: the whole-process runs of another checkout too (main's: before and after a change, side
          by side), in turns with this one's, on the same server.
  --profile DIR: one more whole process each with -X importtime and with cProfile (DIR/apply.prof), and one
          with every line of its output stamped with the milliseconds since it started (DIR/stamps*.txt; with
          --against, the other checkout's too: DIR/stamps-against.txt).
Hold the machine quiet while it runs: `live-lane --quiet python3 bench/noop_reapply.py --full`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import compiled  # noqa: E402
from wizard.app.recipefile import Recipe, dump, load, parse  # noqa: E402
from wizard.app.session import Questions, make_transport, run_recipe  # noqa: E402
from wizard.engine.commands import Masker  # noqa: E402
from wizard.engine.events import Event, RunFinished, StepFinished  # noqa: E402
from wizard.engine.facts import Fact, FactGatherer  # noqa: E402
from wizard.engine.gather import LANES, gather_script  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

MIN_RUNS = 5


@dataclass
class Run:
    seconds: float
    changes: int
    round_trips: int
    commands: int
    sent: list[str]
    per_step: dict[str, tuple[int, int]]  # step -> (round trips, commands)
    facts: list[tuple[str, Fact]] = field(default_factory=list)  # (the step that asked, the fact), on the server
    rounds: list[list[Fact]] = field(default_factory=list)  # the facts of each gather sent to the server, in order
    trips: list[tuple[str, float]] = field(default_factory=list)  # (what, seconds): the connection, each round trip


def recording_factory(recipe: Recipe, host: str, sent: list[str],
                      trips: list[tuple[str, float]] | None = None):  # noqa: ANN201
    """A transport that records every line it sends and, in `trips`, how long the connection and each round
    trip took, as seen from here."""
    trips = [] if trips is None else trips

    def factory():  # noqa: ANN202
        transport = make_transport(recipe, Questions(), Masker(), host)
        original, connect = transport._exec, transport.connect

        async def exec_and_record(line, stdin, on_output, timeout):  # noqa: ANN001, ANN202
            sent.append(line)
            started = time.perf_counter()
            try:
                return await original(line, stdin, on_output, timeout)
            finally:
                trips.append((line, time.perf_counter() - started))

        async def connect_and_record():  # noqa: ANN202
            started = time.perf_counter()
            try:
                return await connect()
            finally:
                trips.append(("(connect, host key, sudo probe)", time.perf_counter() - started))

        transport._exec = exec_and_record  # type: ignore[method-assign]
        transport.connect = connect_and_record  # type: ignore[method-assign]
        return transport

    return factory


@contextlib.contextmanager
def facts_asked(found: list[tuple[FactGatherer, list[Fact], bool]]):  # noqa: ANN201
    """Every gather of the run: its gatherer (whose `origin` names the step that asked each fact), its facts,
    and whether they went to the server (not this machine)."""
    original = FactGatherer._ask

    async def ask(self: FactGatherer, facts: list[Fact], transport):  # noqa: ANN001, ANN202
        found.append((self, list(facts), transport is self.transport))
        return await original(self, facts, transport)

    FactGatherer._ask = ask  # type: ignore[method-assign]
    try:
        yield
    finally:
        FactGatherer._ask = original  # type: ignore[method-assign]


async def one_run(recipe: Recipe, host: str) -> Run:
    sent: list[str] = []
    per_step: dict[str, tuple[int, int]] = {}
    finished: list[RunFinished] = []
    gathers: list[tuple[FactGatherer, list[Fact], bool]] = []
    trips: list[tuple[str, float]] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepFinished):
            per_step[event.step] = (event.round_trips, event.commands)
        elif isinstance(event, RunFinished):
            finished.append(event)

    started = time.perf_counter()
    with facts_asked(gathers):
        result = await run_recipe(recipe, "apply", sink, Questions(), host=host, journal=False,
                                  transport_factory=recording_factory(recipe, host, sent, trips))
    elapsed = time.perf_counter() - started
    # a fact that answers many steps' facts at once (Fact.together: packages, files, paths, units) has no origin
    facts = [(gatherer.origin.get(fact.key, f"(steps' {fact.kind})"), fact)
             for gatherer, batch, remote in gathers if remote for fact in batch]
    rounds = [list(batch) for _gatherer, batch, remote in gathers if remote]
    return Run(elapsed, result.changes, finished[-1].round_trips, finished[-1].commands, sent, per_step, facts,
               trips=trips, rounds=rounds)


def whole_process(recipe_path: Path, host: str, python: tuple[str, ...] = (), stamps: Path | None = None,
                  checkout: Path = ROOT) -> float:
    """`deploy-wizard apply` as a user runs it, timed from outside; its JSON report must say 0 changes. Its code
    runs compiled, as an installed one does (bench/startup.py, compiled: pip compiles what it installs).
    `python`: options for the interpreter (-X importtime, -m cProfile ...); `stamps`: write each line of its
    output there with the milliseconds since the process started, as it arrived; `checkout`: the deploy-wizard
    whose code runs (another checkout, e.g. main's, for --against)."""
    started = time.perf_counter()
    command = [sys.executable, *python, *(() if "-m" in python else ("-m",)), "wizard", "apply", str(recipe_path),
               "--host", host, "--yes", "--json"]
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: -X importtime writes a lot there
        with subprocess.Popen(command, cwd=checkout, stdout=subprocess.PIPE, stderr=errors, text=True,
                              env=compiled()) as process:
            assert process.stdout is not None
            lines = [(time.perf_counter() - started, line) for line in process.stdout]
        elapsed = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    if stamps is not None:
        stamps.write_text("".join(f"{at * 1000:8.1f} {line}" for at, line in lines) + f"{elapsed * 1000:8.1f} (exit)\n")
        stamps.with_suffix(".stderr").write_text(stderr)
    done = subprocess.CompletedProcess(command, process.returncode, "".join(line for _at, line in lines), stderr)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    report = [e for e in events if e.get("event") == "run_finished"]
    if done.returncode != 0 or not report or report[-1]["changes"] != 0:
        raise SystemExit(f"the whole-process re-apply was not a no-op:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def ssh_base(info: sandbox.SandboxInfo) -> list[str]:
    return [*sandbox.ssh_command(info.name, "admin")[:-1], f"admin@{info.ip}"]


def time_one_session(info: sandbox.SandboxInfo, lines: list[str]) -> float:
    script = "\n".join(f"( {line} ) >/dev/null 2>&1" for line in lines) + "\n"
    started = time.perf_counter()
    subprocess.run([*ssh_base(info), "sh"], input=script, text=True, check=True, capture_output=True)
    return time.perf_counter() - started


def time_ssh_per_command(info: sandbox.SandboxInfo, lines: list[str]) -> float:
    started = time.perf_counter()
    for line in lines:
        subprocess.run([*ssh_base(info), line], capture_output=True, text=True)
    return time.perf_counter() - started


def on_server(info: sandbox.SandboxInfo, lines: list[str], shell: str = "sh") -> list[float]:
    """Seconds each line takes on the server itself (no network): timed there, one after the other, in one
    `shell` (`sudo -n sh`: as root, without a sudo per line)."""
    script = "".join(f's=$(date +%s%N); ( {line} ) >/dev/null 2>&1; e=$(date +%s%N); echo "$((e - s))"\n'
                     for line in lines)
    out = subprocess.run([*ssh_base(info), shell], input=script, text=True, check=True, capture_output=True).stdout
    return [int(word) / 1e9 for word in out.split()]


def is_gather(line: str) -> bool:
    return "@@DW-FACT" in line


def spread(values: list[float], unit: float = 1000.0) -> str:
    """min / median / max in milliseconds."""
    return (f"{min(values) * unit:7.0f} {statistics.median(values) * unit:7.0f} {max(values) * unit:7.0f}")


def profile(info: sandbox.SandboxInfo, run: Run, rounds: int, top: int) -> None:
    unique: dict[str, tuple[str, Fact]] = {}
    for step, fact in run.facts:
        unique.setdefault(fact.key, (step, fact))
    items = list(unique.values())
    lines = [fact.command().shell() for _step, fact in items]
    times = [on_server(info, lines, "sudo -n sh") for _ in range(rounds)]
    medians = [statistics.median(sample[i] for sample in times) for i in range(len(items))]
    per_step: dict[str, list[float]] = {}
    for (step, _fact), seconds in zip(items, medians, strict=True):
        per_step.setdefault(step, []).append(seconds)
    print(f"\nserver-side time of each fact command alone, as root in one shell (median of {rounds}), per step:")
    for step, values in per_step.items():
        print(f"  {step:18} {len(values):3} facts {sum(values) * 1000:7.1f} ms")
    print(f"  {'all steps':18} {len(items):3} facts {sum(medians) * 1000:7.1f} ms")
    print(f"\nthe {top} slowest fact commands:")
    ranked = sorted(zip(items, medians, strict=True), key=lambda pair: -pair[1])[:top]
    for (step, fact), seconds in ranked:
        print(f"  {seconds * 1000:7.1f} ms  {step:14} {fact.key[:90]}")


def measure(args: argparse.Namespace, info: sandbox.SandboxInfo, recipe: Recipe, recipe_path: Path) -> int:
    first = asyncio.run(one_run(recipe, info.ip))
    print(f"first apply: {first.changes} changes in {first.seconds:.1f} s", flush=True)
    runs = []
    for _ in range(args.runs):
        run = asyncio.run(one_run(recipe, info.ip))
        if run.changes:
            raise SystemExit(f"the re-apply must be a no-op, it made {run.changes} changes")
        runs.append(run)
    processes, against = [], []
    for _ in range(args.runs):  # in turns with --against, so both see the same minutes of the machine
        processes.append(whole_process(recipe_path, info.ip))
        if args.against:
            against.append(whole_process(recipe_path, info.ip, checkout=Path(args.against).resolve()))
    last = runs[-1]
    gathers = [line for line in last.sent if is_gather(line)]
    server = [sum(on_server(info, gathers)) for _ in range(args.runs)]
    one_session = [time_one_session(info, last.sent) for _ in range(args.runs)]
    per_command = [time_ssh_per_command(info, last.sent) for _ in range(args.runs)]
    print(f"\nno-op re-apply: {last.commands} remote commands in {last.round_trips} round trips "
          f"({len(gathers)} of them fact gathers); per step (round trips / commands):")
    for step, (trips, commands) in last.per_step.items():
        print(f"  {step:18} {trips:2} / {commands:3}")
    print(f"\nload average before the runs: {os.getloadavg()[0]:.2f}")
    print(f"\n{'':48} {'min':>7} {'median':>7} {'max':>7}  ms, {args.runs} runs")
    print(f"  {'deploy-wizard, in process':46} {spread([r.seconds for r in runs])}")
    print(f"  {'deploy-wizard, whole process (python -m wizard)':46} {spread(processes)}")
    if against:
        print(f"  {'the same, ' + args.against:46.46} {spread(against)}")
    print(f"  {'server-side time of the fact gathers as sent':46} {spread(server)}")
    print(f"  {'same command lines, one plain ssh session':46} {spread(one_session)}")
    print(f"  {'same command lines, one plain ssh each':46} {spread(per_command)}")
    print("\nthe last in-process run, round trip by round trip (ms, as seen from here):")
    for line, seconds in last.trips:
        print(f"  {seconds * 1000:7.1f}  {' '.join(line.split())[:100]}")
    print("\nthe facts of each gather after the first (what waited for an earlier answer):")
    for number, batch in enumerate(last.rounds[1:], start=2):
        print(f"  gather {number}: {len(batch)} facts: {', '.join(fact.key[:60] for fact in batch)}")
    print(f"\nserver-side time of the gathers as sent, by the number of lanes they run in (as root, {args.runs} runs):")
    for lanes in (1, 2, 4, 8):
        scripts = [gather_script([fact.command().shell() for fact in batch], lanes) for batch in last.rounds]
        timed = [sum(on_server(info, scripts, "sudo -n sh")) for _ in range(args.runs)]
        chosen = "  (wizard.engine.gather.LANES)" if lanes == LANES else ""
        print(f"  {lanes} lane{'s' if lanes > 1 else ' '}{'':38} {spread(timed)}{chosen}")
    profile(info, last, args.runs, args.top)
    if args.profile:
        where = Path(args.profile)
        where.mkdir(parents=True, exist_ok=True)
        whole_process(recipe_path, info.ip, ("-X", "importtime"), where / "stamps-importtime.txt")
        whole_process(recipe_path, info.ip, ("-m", "cProfile", "-o", str(where / "apply.prof"), "-m"),
                      where / "stamps-cprofile.txt")
        whole_process(recipe_path, info.ip, (), where / "stamps.txt")
        if args.against:
            whole_process(recipe_path, info.ip, (), where / "stamps-against.txt", Path(args.against).resolve())
        print(f"\none whole process each: -X importtime, cProfile ({where / 'apply.prof'}) and its output stamped "
              f"with the milliseconds since it started, in {where}")
    return 0


def example_recipe(info: sandbox.SandboxInfo, stack: contextlib.ExitStack, django: bool) -> Recipe:
    """Serve the example app and a test CA beside the sandbox, as the live tests do (tests/live/services.lab)."""
    from tests.live.services import DJANGO_APP, DJANGO_DOMAIN, django_recipe_text, flask_recipe_text, lab

    base = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    if django:
        served = stack.enter_context(lab(info, base, source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN))
        os.environ.setdefault("SHOP_DB_PASSWORD", "bench-db-secret")
        os.environ.setdefault("SHOP_SECRET_KEY", "k" * 60)
        return parse(django_recipe_text(served.git_url, served.acme, info.ip))
    served = stack.enter_context(lab(info, base))
    os.environ.setdefault("DEMO_DB_PASSWORD", "bench-password")
    return parse(flask_recipe_text(served.git_url, served.acme, info.ip))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs per figure (at least {MIN_RUNS})")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="the whole Flask example stack instead of two steps")
    group.add_argument("--django", action="store_true", help="the Django example stack")
    parser.add_argument("--against", metavar="CHECKOUT", help="also time whole processes of this checkout of "
                        "deploy-wizard (e.g. /work/main), in turns with this one, on the same server")
    parser.add_argument("--profile", metavar="DIR", help="also profile one whole process each way, into DIR")
    parser.add_argument("--top", type=int, default=15, help="how many of the slowest fact commands to list")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}: a median of fewer says little")
    sandbox.check_host()
    info = sandbox.up(progress=lambda m: print(m, flush=True))
    try:
        with contextlib.ExitStack() as stack:
            if args.full or args.django:
                recipe = example_recipe(info, stack, args.django)
            else:
                recipe = load(ROOT / "examples" / "sandbox.yaml")
            recipe_path = Path(tempfile.mkdtemp(prefix="dw-bench-recipe-")) / "recipe.yaml"
            recipe_path.write_text(dump(recipe))
            return measure(args, info, recipe, recipe_path)
    finally:
        if not args.keep:
            sandbox.down(info.name, progress=lambda m: None)


if __name__ == "__main__":
    sys.exit(main())
