#!/usr/bin/env python3
"""Benchmark: a no-op re-apply of the example recipe on a sandbox server.

Prints, for the re-apply that changes nothing:
- commands sent (SSH round trips) per step, and in total (the connection probe included);
- wall time of deploy-wizard (connect + facts + plan, median of --runs);
- wall time of the SAME command lines sent through ONE plain `ssh` session (a script on stdin): what a
  careful hand-written script would cost;
- wall time of one plain `ssh` per command line: what the hand-typed tutorial or a naive script costs;
and the ratios. Nothing here asserts a time: the numbers are for reading, and for the closing notes.

Usage (root, Linux): python3 bench/noop_reapply.py [--runs 5] [--keep] [--full]
  --full: the whole example stack (examples/flask-app.yaml: Flask + PostgreSQL + nginx + pebble TLS + ufw +
          monitoring), with the same git server and test CA the live tests use; default: examples/sandbox.yaml.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.app.recipefile import load  # noqa: E402
from wizard.app.session import Questions, make_transport, run_recipe  # noqa: E402
from wizard.engine.commands import Masker  # noqa: E402
from wizard.engine.events import Event, StepFinished  # noqa: E402
from wizard.lab import sandbox  # noqa: E402


def recording_factory(recipe, host: str, sent: list[str]):  # noqa: ANN201
    def factory():  # noqa: ANN202
        transport = make_transport(recipe, Questions(), Masker(), host)
        original = transport._exec

        async def exec_and_record(line, stdin, on_output, timeout):  # noqa: ANN001, ANN202
            sent.append(line)
            return await original(line, stdin, on_output, timeout)

        transport._exec = exec_and_record  # type: ignore[method-assign]
        return transport

    return factory


async def one_run(recipe, host: str, mode: str = "apply") -> tuple[float, list[str], dict[str, int], int]:
    sent: list[str] = []
    per_step: dict[str, int] = {}

    def sink(event: Event) -> None:
        if isinstance(event, StepFinished):
            per_step[event.step] = event.round_trips

    started = time.perf_counter()
    result = await run_recipe(recipe, mode, sink, Questions(), host=host, journal=False,
                              transport_factory=recording_factory(recipe, host, sent))
    elapsed = time.perf_counter() - started
    return elapsed, sent, per_step, result.changes


def ssh_base(info: sandbox.SandboxInfo) -> list[str]:
    return sandbox.ssh_command(info.name, "admin")[:-1]  # without the user@host


def time_one_session(info: sandbox.SandboxInfo, lines: list[str]) -> float:
    script = "\n".join(f"( {line} ) >/dev/null 2>&1" for line in lines) + "\n"
    started = time.perf_counter()
    subprocess.run([*ssh_base(info), f"admin@{info.ip}", "sh"], input=script, text=True, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def time_ssh_per_command(info: sandbox.SandboxInfo, lines: list[str]) -> float:
    started = time.perf_counter()
    for line in lines:
        subprocess.run([*ssh_base(info), f"admin@{info.ip}", line], capture_output=True, text=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    parser.add_argument("--full", action="store_true", help="the whole example stack instead of two steps")
    args = parser.parse_args()
    sandbox.check_host()
    info = sandbox.up(progress=lambda m: print(m, flush=True))
    with contextlib.ExitStack() as stack:
        if args.full:
            recipe = full_stack_recipe(info, stack)
        else:
            recipe = load(ROOT / "examples" / "sandbox.yaml")
        try:
            return measure(args, info, recipe)
        finally:
            if not args.keep:
                sandbox.down(info.name, progress=lambda m: None)


def full_stack_recipe(info: sandbox.SandboxInfo, stack: contextlib.ExitStack):  # noqa: ANN201
    """Serve the example app and a test CA beside the sandbox, as the live tests do."""
    import os
    import tempfile

    from tests.live.services import flask_recipe_text, git_daemon, make_repo, pebble, prepare_for_certificates
    from wizard.app.recipefile import parse

    base = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    _, bare = make_repo(base / "git")
    git_url = stack.enter_context(git_daemon(bare.parent, info.host_ip))
    acme = stack.enter_context(pebble(base / "pebble", info.ip))
    prepare_for_certificates(info, acme)
    os.environ.setdefault("DEMO_DB_PASSWORD", "bench-password")
    return parse(flask_recipe_text(git_url, acme, info.ip))


def measure(args: argparse.Namespace, info: sandbox.SandboxInfo, recipe) -> int:  # noqa: ANN001
    first, _, _, changes = asyncio.run(one_run(recipe, info.ip))
    print(f"first apply: {changes} changes in {first:.1f} s")
    ours, sent_lines, per_step = [], [], {}
    for _ in range(args.runs):
        elapsed, sent_lines, per_step, changes = asyncio.run(one_run(recipe, info.ip))
        assert changes == 0, "the re-apply must be a no-op"
        ours.append(elapsed)
    one_session = [time_one_session(info, sent_lines) for _ in range(args.runs)]
    per_command = [time_ssh_per_command(info, sent_lines) for _ in range(args.runs)]
    med = statistics.median
    print(f"\nno-op re-apply, median of {args.runs} runs, {len(sent_lines)} commands sent in total "
          f"(1 connection probe + facts):")
    for step, trips in per_step.items():
        print(f"  {step:14} {trips} round trip(s)")
    print(f"  deploy-wizard (asyncssh, 1 connection)        {med(ours) * 1000:7.0f} ms")
    print(f"  same commands, one plain ssh session (stdin)  {med(one_session) * 1000:7.0f} ms")
    print(f"  same commands, one plain ssh per command      {med(per_command) * 1000:7.0f} ms")
    print(f"  ratio deploy-wizard / one ssh session:   {med(ours) / med(one_session):.2f}")
    print(f"  ratio deploy-wizard / ssh per command:   {med(ours) / med(per_command):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
