#!/usr/bin/env python3
"""Benchmark: one recipe on N fresh sandbox servers at once against one alone: wall time and the controller's CPU.

Boots N+1 sandboxes (one after the other), then runs the CLI as a user does (`deploy-wizard apply FILE --yes
--json --parallel N --host ...`, a whole process each time):
- the first apply on 1 host alone, then on the other N at once;
- --rounds no-op re-applies of 1 host and of the N (their order alternates between rounds); each must report
  every host ok with 0 changes, or the benchmark fails: a timed no-op that changed something is not a no-op.
For every run it prints the wall time, the controller's own CPU seconds (user + system of the deploy-wizard
process and its children, from the kernel's rusage: not the servers') and the CPU the whole machine spent
meanwhile (servers included), min/median/max over the rounds. On a small machine the servers share the CPU
with the controller, so the wall time of N hosts says how busy the machine was, and the controller's CPU per
extra host, (CPU of N - CPU of 1) / (N - 1), says what the fleet costs deploy-wizard itself (goal: under 20 ms).
It also prints the memory each sandbox takes (this machine's MemAvailable before and after) and refuses to
start when N+1 sandboxes would not fit in memory. Nothing here asserts a time.

`up` raises this machine's inotify limit when the sandboxes need it (README, "Many sandboxes at once"); every
sandbox booted here is taken down at the end, by name, also after a failure or Ctrl-C.

Usage (root, Linux):
  python3 bench/fleet.py [--hosts 50] [--rounds 3] [--recipe examples/sandbox.yaml] [--out results.json]
      [--profile DIR] [--watch S]
  --profile DIR: also run one no-op of the N hosts under cProfile and write DIR/noop-N.pstats (read it with
                 `python -m pstats`), to see what costs per host in the controller.
Each run's line is printed as soon as it ends, and every --watch seconds (60) a run that lasts says how many hosts
finished, the last event of those still running, this machine's busiest processes and, over ssh, two of those
servers' own (so a run that stalls shows where, while it does).

Measured on 2 cores (the first two runs: load average 1.9 before, 15 to 35 during a first apply; results files name
the commit and the load):
- 20 hosts: boot 60 s (21 sandboxes, 2.8 s each); the first apply of 1 host 14.8 s (controller CPU 1.0 s), of 20 at
  once 202 s (6.1 s: 269 ms per extra host); no-op of 1 host 1.27 / 1.44 / 1.62 s
  (CPU 0.89 / 0.91 / 0.92 s), of 20 hosts 4.41 / 4.56 / 4.71 s (CPU 1.29 / 1.31 / 1.32 s): 20.9 ms per extra host,
  before the SSH transport asked for AES-GCM first (the profile's largest per-host cost was asyncssh's ChaCha20).
  Both no-op rounds finished on every host, each within 5 s (commit eb569fb).
- 20 hosts again with AES-GCM first and the heartbeat fix (commit d24c6df; load average 1.3 before, about 15
  during the first apply): boot 62 s; the first apply of 1 host 13.1 s (CPU 0.80 s), of 20 at once 180 s (5.0 s:
  219 ms per extra host); 5 no-op rounds: 1 host 0.87 / 0.95 / 1.01 s (CPU 0.69 / 0.77 / 0.80 s), 20 hosts
  2.84 / 3.02 / 3.45 s (CPU 0.99 / 1.04 / 1.11 s): 14.3 ms of controller CPU per extra host (goal: under 20 ms).
  Two runs at different loads, not an A/B of the cipher alone.
- 50 hosts, all of it (commit 2c40610, --rounds 5; load average 0.3 before, 45 to 118 during the first apply,
  Python 3.11): boot 157 s (51 sandboxes, 3.1 s each); the first apply of 1 host 14.4 s (controller CPU 0.88 s), of
  50 at once 533 s (13.2 s: 252 ms per extra host; the machine's CPU 1,062 s, nearly all apt and dpkg on the
  servers, every host ok at the first try); 5 no-op rounds: 1 host 0.84 / 0.89 / 1.03 s (CPU 0.65 / 0.69 / 0.81 s),
  50 hosts 6.79 / 7.16 / 7.52 s (CPU 1.30 / 1.38 / 1.44 s): 14.1 ms of controller CPU per extra host (goal: under
  20 ms), every host 0 changes in 3 commands. Memory per sandbox (this machine's MemAvailable, 51 at once): 19 MiB
  booted, 33 MiB after this recipe. The process ended by itself and took every sandbox down. A fleet's first
  apply says 93.5 commands/host against 22 for one host alone: the count includes the deploy lock's heartbeat,
  one command every 5 s of a run that lasts minutes on a busy machine.
  An earlier 50-host run (load 2.2 before, 40 to 117 during) had every host's first apply end ok within 507 s,
  but the process never ended: on 3 hosts the deploy lock's heartbeat went on after the run (Python 3.11's
  asyncio.wait_for loses a cancellation that arrives as the awaited command ends, likelier the busier the loop), so
  the lock was never released nor the connection closed; --watch showed it (the servers idle, the lock's holder
  file still touched every 5 s). The heartbeat now also stops on a flag (tests/test_deploy_lock.py loses the
  cancel on purpose), and the run above is the first 50-host one timed to the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fleetwatch  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

MIB_PER_SANDBOX = 300  # memory, measured: about 50 MiB booted, 70 after this recipe, 200-250 after the whole stack
MIB_DISK_PER_SANDBOX = 500  # each one's writable layer: apt's lists and the packages this recipe installs


# The CLI under cProfile, timed by CPU (process_time), not by the clock: what costs the controller, not what it waits
# for. argv[1] is where the stats go; the rest is deploy-wizard's command line.
PROFILED = """
import cProfile, runpy, sys, time
out = sys.argv.pop(1)
sys.argv[0] = "deploy-wizard"
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    runpy.run_module("wizard", run_name="__main__")
finally:
    profile.disable()
    profile.dump_stats(out)
"""


@dataclass
class Run:
    """One whole CLI process: what it took on the clock, in its own CPU and in the machine's."""

    label: str
    hosts: int
    wall: float
    controller_cpu: float
    machine_cpu: float
    changes: int
    round_trips: float  # commands sent per host (the mean of the hosts that finished)
    failed: int = 0  # hosts that failed (a first apply only; they were applied again, untimed)


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_busy() -> float:
    """CPU seconds this machine has spent on anything but idle and iowait since boot, all cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class Fleet:
    """The CLI against some of the booted sandboxes, with its own config and state directories."""

    def __init__(self, recipe: Path, work: Path, watch: float) -> None:
        self.recipe, self.work, self.watch = recipe, work, watch
        self.names: dict[str, str] = {}  # address -> sandbox name, to look inside the ones that have not finished
        # Compiled once, as an installed deploy-wizard is: without it every run would compile its sources again
        # (PYTHONDONTWRITEBYTECODE), and the controller's CPU would be mostly the compiler's.
        self.env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                    "PYTHONPYCACHEPREFIX": str(work / "pycache"), "XDG_CONFIG_HOME": str(work / "config"),
                    "XDG_STATE_HOME": str(work / "state"), "DEPLOY_WIZARD_LANG": "en"}

    def warm_up(self) -> None:
        """One run that fails at once (nothing answers on 127.0.0.1:22) but imports what an apply imports, so the
        timed runs start from compiled code."""
        subprocess.run([sys.executable, "-m", "wizard", "check", str(self.recipe), "--host", "127.0.0.1"],
                       capture_output=True, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, timeout=300)

    def apply(self, label: str, ips: list[str], *, noop: bool, profile: Path | None = None) -> tuple[Run, list[str]]:
        """One timed run and the hosts that failed in it. A no-op must pass on every host with 0 changes (else
        the benchmark stops: that was no no-op); a first apply may lose a host (a mirror that timed out), which
        the caller applies again, untimed, and reports."""
        argv = [sys.executable, *(["-c", PROFILED, str(profile)] if profile else ["-m", "wizard"]),
                "apply", str(self.recipe), "--yes", "--json", "--parallel", str(len(ips)),
                *(arg for ip in ips for arg in ("--host", ip))]
        busy, started = machine_busy(), time.perf_counter()
        done = fleetwatch.run(argv, hosts=ips, names=self.names, watch=self.watch, timeout=3600, cwd=ROOT,
                              env=self.env, stdin=subprocess.DEVNULL)
        wall, cpu, busy = time.perf_counter() - started, done.cpu, machine_busy() - busy
        events = [e for e in map(fleetwatch.event, done.stdout.splitlines()) if e]
        results = host_results(events, done, ips)
        trips = [e.get("round_trips", 0) for e in events if e.get("event") == "run_finished"]
        failed = [r for r in results if r["status"] != "ok"]
        if len(results) != len(ips) or (noop and (failed or any(r["changes"] != 0 for r in results))):
            raise SystemExit(f"{label}: exit {done.returncode}; not ok or not a no-op: "
                             f"{[r for r in results if r['status'] != 'ok' or r['changes']][:3]}; "
                             f"unfinished: {done.last}\n{done.stderr[-2000:]}")
        for r in failed:
            print(f"  {label}: {r['host']} failed: {r['error']}")
        changes = sum(r["changes"] or 0 for r in results)
        per_host = sum(trips) / max(1, len(trips))
        run = Run(label, len(ips), wall, cpu, busy, changes, per_host, len(failed))
        print(f"{label:34} wall {wall:7.2f} s   controller CPU {cpu:6.2f} s   machine CPU {busy:7.2f} s   "
              f"{changes} changes   {per_host:.1f} commands/host", flush=True)
        return run, [r["host"] for r in failed]


def host_results(events: list[dict], done: fleetwatch.Finished, ips: list[str]) -> list[dict]:
    """Each host's status and changes: the fleet's `host_result` events, or for one host (no fleet) its
    `run_finished` and the exit code."""
    fleet = [e for e in events if e.get("event") == "host_result"]
    if fleet or len(ips) != 1:
        return fleet
    end = next((e for e in reversed(events) if e.get("event") == "run_finished"), None)
    ok = end is not None and end.get("ok") and done.returncode == 0
    return [{"host": ips[0], "status": "ok" if ok else "failed", "changes": end and end.get("changes"),
             "error": None if ok else done.stderr.strip()[-500:]}]


@contextlib.contextmanager
def booted(count: int, env: dict[str, str]) -> Iterator[list[sandbox.SandboxInfo]]:
    """`count` fresh sandboxes whose host keys the CLI (env's XDG_CONFIG_HOME) trusts; all down at the end."""
    boxes: list[sandbox.SandboxInfo] = []
    saved = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # up() trusts each new key in this store
    try:
        started = time.perf_counter()
        for number in range(1, count + 1):
            boxes.append(sandbox.up(f"fleet{os.getpid() % 1000}x{number}", progress=_said))
            print(f"  booted {number}/{count}", end="\r", flush=True)
        print(f"booted {count} sandboxes in {time.perf_counter() - started:.1f} s")
        yield boxes
    finally:
        if boxes:
            print(f"taking {len(boxes)} sandboxes down ...", flush=True)
        for box in boxes:
            with contextlib.suppress(sandbox.SandboxError):
                sandbox.down(box.name, progress=lambda m: None)
        os.environ.pop("XDG_CONFIG_HOME") if saved is None else os.environ.__setitem__("XDG_CONFIG_HOME", saved)


def _said(message: str) -> None:
    """Boot lines are counted, not printed; what `up` says about this machine (the inotify limit) is printed."""
    if not message.startswith("Sandbox "):
        print(message, flush=True)


def spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"{min(v):7.2f} {statistics.median(v):7.2f} {max(v):7.2f} {unit}"


def report(runs: list[Run], hosts: int, memory: dict[str, float]) -> dict:
    """The table, and the controller's CPU per extra host for the no-op and the first apply."""
    print(f"\n{'min / median / max':34} {'wall':>27}   {'controller CPU':>27}   {'machine CPU (all)':>27}  commands")
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    for label, group in groups.items():
        print(f"{label:34} {spread([r.wall for r in group]):>27}   {spread([r.controller_cpu for r in group]):>27}"
              f"   {spread([r.machine_cpu for r in group]):>27}  {group[0].round_trips:6.1f}/host")

    def median_cpu(label: str) -> float:
        return statistics.median(r.controller_cpu for r in groups[label])

    per_host = {kind: (median_cpu(f"{kind}, {hosts} hosts") - median_cpu(f"{kind}, 1 host")) / max(1, hosts - 1)
                for kind in ("first apply", "no-op")}
    for kind, cost in per_host.items():
        print(f"controller CPU per extra host, {kind}: {cost * 1000:.1f} ms"
              + ("  (goal: under 20 ms)" if kind == "no-op" else ""))
    print("memory per sandbox: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in memory.items()))
    return {"per_extra_host_cpu_s": per_host, "memory_mib_per_sandbox": memory}


def results_file(path: Path, args: argparse.Namespace, runs: list[Run], summary: dict) -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    path.write_text(json.dumps({
        "bench": "fleet", "hosts": args.hosts, "rounds": args.rounds, "recipe": str(args.recipe),
        "commit": commit.strip(), "cpus": os.cpu_count(), "load_before": args.load_before,
        "load_after": os.getloadavg(), "python": sys.version.split()[0], "runs": [asdict(r) for r in runs],
        **summary}, indent=2) + "\n")
    print(f"results written to {path}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=10, help="N, the hosts of the fleet (besides the one alone)")
    parser.add_argument("--rounds", type=int, default=3, help="no-op rounds (each: 1 host and N hosts)")
    parser.add_argument("--recipe", type=Path, default=ROOT / "examples" / "sandbox.yaml")
    parser.add_argument("--out", type=Path, help="also write the results (and commit, load) to this JSON file")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one N-host no-op into this directory")
    parser.add_argument("--watch", type=float, default=60, metavar="S", help=(
        "every S seconds of a run, say which hosts have not finished, their last event and what the machine and "
        "two of those servers are busy with (0: never)"))
    args = parser.parse_args()
    if args.hosts < 2 or args.rounds < 1:
        parser.error("--hosts must be at least 2 and --rounds at least 1")
    return args


def main() -> int:
    args = parse()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also into a file
    sandbox.check_host()
    need, have = (args.hosts + 1) * MIB_PER_SANDBOX, mem_available_mib()
    if need > have:
        raise SystemExit(f"{args.hosts + 1} sandboxes need about {need} MiB of memory; {have:.0f} MiB is available")
    disk = shutil.disk_usage(sandbox.state_dir().parent if not sandbox.state_dir().exists() else sandbox.state_dir())
    if disk.free < (args.hosts + 1) * MIB_DISK_PER_SANDBOX * 2**20:
        raise SystemExit(f"{args.hosts + 1} sandboxes need about {(args.hosts + 1) * MIB_DISK_PER_SANDBOX} MiB of "
                         f"disk; {disk.free // 2**20} MiB is free")
    args.load_before = os.getloadavg()
    print(f"load average before: {args.load_before[0]:.2f}, {os.cpu_count()} CPUs, {have:.0f} MiB available")
    with tempfile.TemporaryDirectory(prefix="dw-fleet-") as tmp:
        work = Path(tmp)
        recipe = work / args.recipe.name  # a copy: nothing the CLI writes beside a recipe lands in the checkout
        shutil.copy(args.recipe, recipe)
        fleet = Fleet(recipe, work, args.watch)
        fleet.warm_up()
        before = mem_available_mib()
        with booted(args.hosts + 1, fleet.env) as boxes:
            memory = {"booted": (before - mem_available_mib()) / len(boxes)}
            fleet.names = {box.ip: box.name for box in boxes}
            alone, many = [boxes[0].ip], [b.ip for b in boxes[1:]]
            runs = []
            for label, ips in (("first apply, 1 host", alone), (f"first apply, {args.hosts} hosts", many)):
                run, failed = fleet.apply(label, ips, noop=False)
                runs.append(run)
                if failed:  # converge them (untimed) so that the no-ops below compare like with like
                    print(f"  {len(failed)} of {len(ips)} failed; applying again on those, untimed")
                    fleet.apply("again", failed, noop=False)
            memory["after the first apply"] = (before - mem_available_mib()) / len(boxes)
            for round_ in range(args.rounds):
                order = [("1 host", alone), (f"{args.hosts} hosts", many)]
                for label, ips in order[::-1] if round_ % 2 else order:
                    runs.append(fleet.apply(f"no-op, {label}", ips, noop=True)[0])
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                fleet.apply("profiled", many, noop=True, profile=args.profile / f"noop-{args.hosts}.pstats")
        summary = report(runs, args.hosts, memory)
        if args.out:
            results_file(args.out, args, runs, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
