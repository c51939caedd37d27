"""Concurrent keep-alive load through nginx while a release switches: Debian's wrk, with a Lua script that
writes every response (a wall-clock time from clock_gettime through LuaJIT's FFI, the status, the body) to a
file per thread, so a test can count what was answered inside the switch window and by which release.

Why wrk: one C process keeps dozens of keep-alive connections busy on a 2-core machine, where a Python client
would measure itself. Its own summary adds what a response log cannot hold: socket errors and timeouts.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = r'''
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } dw_timespec;
int clock_gettime(int clock, dw_timespec *ts);
]]
local ts = ffi.new("dw_timespec")
local counter = 0
local out

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  out = io.open(args[1] .. "/responses-" .. id .. ".log", "w")
  wrk.headers["Host"] = args[2]
end

function response(status, headers, body)
  ffi.C.clock_gettime(0, ts)
  out:write(string.format("%d.%06d %d %s\n", tonumber(ts.tv_sec), math.floor(tonumber(ts.tv_nsec) / 1000),
                          status, (body or ""):gsub("%s+$", "")))
  out:flush()
end
'''


@dataclass
class Load:
    """What the load saw: each response (time, status, body), and wrk's own counts."""

    responses: list[tuple[float, int, str]] = field(default_factory=list)
    socket_errors: dict[str, int] = field(default_factory=dict)
    summary: str = ""

    def inside(self, start: float, end: float) -> list[tuple[float, int, str]]:
        return [r for r in self.responses if start <= r[0] <= end]

    def bad(self) -> list[tuple[float, int, str]]:
        return [r for r in self.responses if not 200 <= r[1] < 300]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


@contextmanager
def load(url: str, host: str, workdir: Path, *, connections: int = 32, threads: int = 2,
         timeout: str = "10s") -> Iterator[Load]:
    """wrk against `url` for as long as the block runs; the Load is filled when the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("responses-*.log"):
        old.unlink()
    script = workdir / "log.lua"
    script.write_text(SCRIPT)
    process = subprocess.Popen(["wrk", "-t", str(threads), "-c", str(connections), "-d", "3600s", "--timeout",
                                timeout, "-s", str(script), url, "--", str(workdir), host],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = Load()
    try:
        time.sleep(1)  # connections open and busy before the block's work begins
        yield result
    finally:
        time.sleep(1)
        process.send_signal(signal.SIGINT)  # wrk stops and prints its summary
        result.summary = process.communicate(timeout=60)[0]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.summary)
    result.socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                                    (int(n) for n in errors.groups()), strict=True)) if errors else {}
    for log in sorted(workdir.glob("responses-*.log")):
        for line in log.read_text().splitlines():
            stamp, status, body = (line.split(" ", 2) + [""])[:3]
            result.responses.append((float(stamp), int(status), body))
    result.responses.sort()
