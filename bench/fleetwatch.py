"""bench/fleet.py's view of one running fleet: the CLI's JSON events read as they come, and what hosts that have not
finished are doing, said while they do it.

Why: a fleet run that stalls tells nothing when its output is read at the end. Every `--watch` seconds this prints
how many hosts finished, the last event of each one still running (the step it is in), the busiest processes of the
whole machine (the servers' included: they share its kernel) and, on a few of the unfinished servers, their own
busiest processes over ssh. The controller's CPU is read from the kernel for the CLI's process alone (os.wait4),
so the ssh and ps run here never count in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.lab import sandbox

PEEK = "uptime; ps -eo etimes,pcpu,stat,args --sort=-pcpu | head -6 | cut -c1-150"


@dataclass
class Finished:
    """A whole CLI process: its output, exit code, and its own CPU seconds (user + system, children included)."""

    stdout: str
    stderr: str
    returncode: int
    cpu: float
    last: dict[str, str] = field(default_factory=dict)  # host -> its last event, for the hosts that never finished


def event(line: str) -> dict:
    """One line of the CLI's --json output as a dict ({} for anything else)."""
    with contextlib.suppress(ValueError):
        found = json.loads(line)
        return found if isinstance(found, dict) else {}
    return {}


class Hosts:
    """The hosts of one run: each one's last event, and which finished (its run_finished arrived)."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts, self.last, self.done = hosts, dict.fromkeys(hosts, "no event yet"), set[str]()

    def see(self, line: str) -> None:
        found = event(line)
        host = found.get("host")
        if host:
            self.last[host] = " ".join(str(found[k]) for k in ("event", "step") if found.get(k))
            if found.get("event") == "run_finished":
                self.done.add(host)

    def pending(self) -> list[str]:
        return [h for h in self.hosts if h not in self.done]


def _pumped(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], list[str]]:
    """stdout line by line into a queue (None at its end), stderr into a list: neither pipe ever fills up."""
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def pump_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_err() -> None:
        assert proc.stderr is not None
        errors.extend(proc.stderr)

    for pump in (pump_out, pump_err):
        threading.Thread(target=pump, daemon=True).start()
    return lines, errors


def run(argv: list[str], *, hosts: list[str], names: dict[str, str], watch: float, timeout: float,
        say: Callable[[str], None] = print, **popen: object) -> Finished:
    """Run the CLI; every `watch` seconds (0: never) say what the unfinished hosts are doing."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # noqa: S603
                            **popen)  # type: ignore[call-overload]
    lines, errors = _pumped(proc)
    out: list[str] = []
    seen = Hosts(hosts)
    started = time.monotonic()
    next_look = started + watch
    while True:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            line = ""
        if line is None:
            break
        out.append(line)
        seen.see(line)
        now = time.monotonic()
        if now - started > timeout:
            proc.kill()
        if watch and now >= next_look:
            next_look = now + watch
            look(now - started, seen, names, say)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished("".join(out), "".join(errors), proc.returncode, usage.ru_utime + usage.ru_stime,
                    {h: seen.last[h] for h in seen.pending()})


def look(elapsed: float, seen: Hosts, names: dict[str, str], say: Callable[[str], None]) -> None:
    """What the machine and a few unfinished servers are doing now."""
    pending, total = seen.pending(), len(seen.hosts)
    if not pending:
        return
    load = os.getloadavg()[0]
    said = ", ".join(f"{h} ({seen.last[h]})" for h in pending[:8])
    say(f"  after {elapsed:.0f} s: {total - len(pending)} of {total} finished, load {load:.1f}; still running: "
        f"{said}{' ...' if len(pending) > 8 else ''}")
    busiest = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True,
                             text=True, timeout=30).stdout.split("\n")[:40]
    counts: dict[str, int] = {}
    for row in busiest:
        parts = row.split(None, 1)
        if len(parts) == 2 and float(parts[0]) >= 1:
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    say("    this machine's busiest processes: " + (", ".join(f"{n} x{c}" for n, c in
                                                          sorted(counts.items(), key=lambda i: -i[1])) or "none"))
    for host in pending[:2]:
        name = names.get(host)
        if not name:
            continue
        try:
            ssh = sandbox.ssh_command(name, "root", [PEEK])
            peek = subprocess.run([ssh[0], "-o", "ConnectTimeout=10", *ssh[1:]], capture_output=True, text=True,
                                  timeout=30)
            text = (peek.stdout + peek.stderr).strip() or f"(ssh exit {peek.returncode}, nothing said)"
        except subprocess.TimeoutExpired:
            text = "(ssh did not answer within 30 s)"
        say(f"    on {host}:\n" + "\n".join("      " + row for row in text.splitlines()))
