#!/usr/bin/env python3
"""Benchmark: the Flask example's apt work alone, as one install per step against installs run ahead (merged).

Each variant runs on its own fresh sandbox through one plain `ssh root@box sh`, every apt command built by the
same code deploy-wizard runs (recipes/shared/apt.py), and each run timed on the server. Variants alternate in the
order given, so the load of a minute falls on both. The package sets are examples/flask-app.yaml's on Debian 13
(what `plan` shows on a fresh sandbox; bench/floor.py reads them from the plan itself). Nothing is asserted: the
numbers are for reading. Hold the machine quiet: `live-lane --quiet .venv/bin/python bench/apt_merge.py`.

Usage (root, Linux): python3 bench/apt_merge.py [separate|merged|merged-nginx ...]
  default: separate merged merged separate. merged-nginx: nginx in the merged run, without its Recommends.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recipes.shared.apt import apt_get, apt_update  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

NR = "--no-install-recommends"
MONITORING = ["install", NR, "prometheus-node-exporter", "logrotate", "curl"]
SEPARATE = [["update"], ["install", NR, "curl", "git", "ca-certificates"], ["upgrade"],
            ["install", NR, "python3", "python3-venv", "python3-dev"], ["install", NR, "postgresql", "logrotate"],
            ["install", "nginx"], ["install", NR, "certbot"], ["install", NR, "ufw"], MONITORING]
AHEAD = ["install", NR, "curl", "git", "ca-certificates", "python3", "python3-venv", "python3-dev", "postgresql",
         "logrotate", "certbot", "ufw"]
VARIANTS = {"separate": SEPARATE, "merged": [["update"], AHEAD, ["install", "nginx"], ["upgrade"], MONITORING],
            "merged-nginx": [["update"], [*AHEAD, "nginx"], ["upgrade"], MONITORING]}


def script(runs: list[list[str]]) -> str:
    lines = ["set -e", "apt-cache depends nginx 2>/dev/null | grep -i recommends || echo 'nginx: no Recommends'"]
    for run in runs:
        line = (apt_update() if run == ["update"] else apt_get(*run)).shell()
        label = " ".join(run)[:70]
        lines += ["t0=$(date +%s.%N)", f"{line} >/tmp/apt.log 2>&1", "t1=$(date +%s.%N)",
                  f"awk -v a=$t0 -v b=$t1 -v l='{label}' 'BEGIN{{printf \"  %5.1f s  %s\\n\", b-a, l}}'"]
    return "\n".join(lines) + "\n"


def main() -> int:
    for name in sys.argv[1:] or ["separate", "merged", "merged", "separate"]:
        box = sandbox.up(progress=lambda m: None)
        try:
            started = time.perf_counter()
            done = subprocess.run(sandbox.ssh_command(box.name, "root", ["sh"]), input=script(VARIANTS[name]),
                                  text=True, capture_output=True)
            print(f"{name}: {time.perf_counter() - started:.1f} s (exit {done.returncode})\n{done.stdout}"
                  f"{done.stderr[-400:] if done.returncode else ''}", flush=True)
        finally:
            sandbox.down(box.name, progress=lambda m: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
