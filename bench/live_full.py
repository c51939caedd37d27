#!/usr/bin/env python3
"""The live tests' full matrices, where CI runs a sample to stay within its time (README.md, "Test").

CI runs every live module, but some with a sample of a longer matrix. Each sample widens to the full run with
an environment variable; this script sets all of them and runs the modules they widen:

  DEPLOY_WIZARD_ALL_RELEASES=1   tests/live/test_full_stack.py: every test on Debian 12 too (CI: the core three);
                                 tests/live/test_fail2ban.py: on Debian 12 too (CI: Debian 13)
  DEPLOY_WIZARD_FULL_EXPORTS=1   tests/live/test_exports.py: the Ansible playbook also replayed on a fresh server
                                 (CI: the shell script's whole replay, the playbook over an applied server)
  DEPLOY_WIZARD_SLOW_ALERTS=1    tests/live/test_observe.py: the site-down alert fires after the rule's own 2m at
                                 the 15 s scrape interval (CI: its `for:` shortened to 20 s, scraped every 5 s)
  DEPLOY_WIZARD_OBSERVE_RELEASE=bookworm  tests/live/test_observe.py again, on Debian 12 (module observe12;
                                 CI: Debian 13)
  DEPLOY_WIZARD_REBUILD_DRILL=1  tests/live/test_backups.py: the rebuild drill on a second, fresh sandbox, from
                                 the off-server copy (`restore --from offsite:latest`)
  DEPLOY_WIZARD_WORKERS_RELEASE=bookworm  tests/live/test_workers.py (Redis, RQ workers) on Debian 12 (CI: 13)

Two matrices have benchmarks of their own: bench/faults.py (SSH cut at 10 points of a first apply; CI: three)
and bench/learn_drills.py (every break-and-fix drill; CI: four).

Usage (root, Linux, after `bash scripts/setup.sh --test`):
  .venv/bin/python bench/live_full.py [MODULE ...] [PYTEST-OPTIONS]
MODULE is full_stack, fail2ban, exports, observe, observe12, backups or workers; none means all seven. They take
about 52 minutes, one after the other; on a shared machine hold a live lane per module (`live-lane`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDENED = {  # module: (its test file, what widens it)
    "full_stack": ("full_stack", {"DEPLOY_WIZARD_ALL_RELEASES": "1"}),
    "fail2ban": ("fail2ban", {"DEPLOY_WIZARD_ALL_RELEASES": "1"}),
    "exports": ("exports", {"DEPLOY_WIZARD_FULL_EXPORTS": "1"}),
    "observe": ("observe", {"DEPLOY_WIZARD_SLOW_ALERTS": "1"}),
    "observe12": ("observe", {"DEPLOY_WIZARD_OBSERVE_RELEASE": "bookworm", "DEPLOY_WIZARD_SLOW_ALERTS": "1"}),
    "backups": ("backups", {"DEPLOY_WIZARD_REBUILD_DRILL": "1"}),
    "workers": ("workers", {"DEPLOY_WIZARD_WORKERS_RELEASE": "bookworm"}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="full_stack, fail2ban, exports, observe, observe12, backups or workers "
                             "(default: all seven)")
    args, extra = parser.parse_known_args()
    unknown = [m for m in args.modules if m not in WIDENED]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}: choose from {', '.join(WIDENED)}")
    modules = args.modules or list(WIDENED)
    failed = 0
    for module in modules:  # one pytest per module: the same file may run twice with other settings
        name, widen = WIDENED[module]
        path = f"tests/live/test_{name}.py"
        print(f"running {path} with " + " ".join(f"{k}={v}" for k, v in widen.items()), flush=True)
        env = {**os.environ, "DEPLOY_WIZARD_REQUIRE_LIVE": "1", **widen}
        failed += subprocess.run([sys.executable, "-m", "pytest", "-ra", path, *extra], cwd=ROOT,
                                 env=env).returncode != 0
    return 1 if failed else 0

if __name__ == "__main__":
    raise SystemExit(main())
