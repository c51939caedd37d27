#!/usr/bin/env python3
"""The live tests' full matrices, where CI runs a sample to stay within its time (README.md, "Test").

CI runs every live module, but some with a sample of a longer matrix. Each sample widens to the full run with
an environment variable; this script sets all of them and runs the modules they widen:

  DEPLOY_WIZARD_ALL_RELEASES=1   tests/live/test_full_stack.py: every test on Debian 12 too (CI: the core three);
                                 tests/live/test_fail2ban.py: on Debian 12 too (CI: Debian 13)
  DEPLOY_WIZARD_FULL_EXPORTS=1   tests/live/test_exports.py: the Ansible playbook also replayed on a fresh server
                                 (CI: the shell script's whole replay, the playbook over an applied server)
  DEPLOY_WIZARD_SLOW_ALERTS=1    tests/live/test_observe.py: the site-down alert waited for until it fires (CI:
                                 until it is pending)
  DEPLOY_WIZARD_REBUILD_DRILL=1  tests/live/test_backups.py: the rebuild drill on a second, fresh sandbox

Two matrices have benchmarks of their own: bench/faults.py (SSH cut at 10 points of a first apply; CI: three)
and bench/learn_drills.py (every break-and-fix drill; CI: four).

Usage (root, Linux, after `bash scripts/setup.sh --test`):
  .venv/bin/python bench/live_full.py [MODULE ...] [PYTEST-OPTIONS]
MODULE is full_stack, fail2ban, exports, observe or backups; none means all five. They take about 45 minutes,
one after the other; on a shared machine hold a live lane per module (`live-lane`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDENED = {
    "full_stack": "DEPLOY_WIZARD_ALL_RELEASES",
    "fail2ban": "DEPLOY_WIZARD_ALL_RELEASES",
    "exports": "DEPLOY_WIZARD_FULL_EXPORTS",
    "observe": "DEPLOY_WIZARD_SLOW_ALERTS",
    "backups": "DEPLOY_WIZARD_REBUILD_DRILL",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="full_stack, fail2ban, exports, observe or backups (default: all five)")
    args, extra = parser.parse_known_args()
    unknown = [m for m in args.modules if m not in WIDENED]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}: choose from {', '.join(WIDENED)}")
    modules = args.modules or list(WIDENED)
    env = {**os.environ, "DEPLOY_WIZARD_REQUIRE_LIVE": "1", **{WIDENED[m]: "1" for m in modules}}
    paths = [f"tests/live/test_{m}.py" for m in modules]
    print("running " + " ".join(paths) + " with " + " ".join(sorted({f"{WIDENED[m]}=1" for m in modules})),
          flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-ra", *paths, *extra], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main())
