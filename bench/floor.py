"""The package floor of a first apply: the apt work of examples/flask-app.yaml alone, installed by hand.

The package set and the order of the apt runs come from deploy-wizard's own plan of the recipe on the fresh
server (`plan --json`: every `apt-get` change, in the order the steps run), never from a hand-kept list; the
package updates are the plan's `apt-get -y upgrade` (or, with `full-upgrade`, decided at run time: the recipe's
`os_updates.upgrade`, where deploy-wizard runs it).
Each command line is built by the same code deploy-wizard runs (recipes/shared/apt.py: the same environment,
dpkg options and lock wait), and all of them go through ONE plain `ssh root@box sh` session: nothing but the
packages and one connection. deploy-wizard's first apply divided by this is the ratio issue 22 aims at (<= 1.15).

bench/compare_full.py times it beside the tools; alone (root, Linux):
    python3 bench/floor.py           # prints the script it would send, planned on a fresh sandbox
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import RECIPE, ROOT, Box, ToolFailed, recipe_args  # noqa: E402
from recipes.shared.apt import apt_get, apt_update  # noqa: E402
from wizard.engine.commands import NOTE  # noqa: E402
from wizard.lab import sandbox  # noqa: E402


def planned_apt(box: Box) -> list[list[str]]:
    """The apt-get runs deploy-wizard's plan holds for this fresh box, as argument lists (["update"] first)."""
    proc = subprocess.run([sys.executable, "-m", "wizard", "plan", str(RECIPE), *recipe_args(box), "--json"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolFailed(f"plan failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    upgrade = (yaml.safe_load(RECIPE.read_text())["steps"].get("os_updates") or {}).get("upgrade", "upgrade")
    return apt_runs(proc.stdout, upgrade)


def apt_runs(plan_json: str, upgrade: str) -> list[list[str]]:
    """The apt-get runs of a `plan --json` output, in order; package updates decided at run time (`upgrade`,
    listed under "later": a full-upgrade) go where deploy-wizard runs them, last in os_updates."""
    runs: list[list[str]] = []
    for line in plan_json.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") != "step_planned":
            continue
        for change in event["changes"]:
            shown = change["do"].split(NOTE, 1)[0].strip()
            if shown.startswith("apt-get update"):
                runs.append(["update"])
            elif shown.startswith("apt-get -y "):
                runs.append(shlex.split(shown)[2:])
        if event["step"] == "os_updates" and upgrade != "none" and event.get("later"):
            runs.append([upgrade])
    if not any(run[0] == "install" for run in runs):
        raise ToolFailed("the plan holds no apt-get install: is the box fresh?")
    return fewest(runs)


def fewest(runs: list[list[str]]) -> list[list[str]]:
    """The same packages in the fewest runs: every install with the same options (with or without Recommends,
    which one run cannot mix) joins the first of them. deploy-wizard keeps some installs in their own step (the
    exporters must not start before their step configures them); the floor has no such duty, so it stays the
    lower bound of the same package set."""
    out: list[list[str]] = []
    first: dict[tuple[str, ...], list[str]] = {}
    for run in runs:
        options = tuple(arg for arg in run[1:] if arg.startswith("-"))
        if run[0] != "install" or options not in first:
            out.append(list(run))
            if run[0] == "install":
                first[options] = out[-1]
            continue
        first[options] += [arg for arg in run[1:] if not arg.startswith("-") and arg not in first[options]]
    return out


def run_line(run: list[str]) -> str:
    """One apt run as the shell line deploy-wizard's own code builds for it (["update"] or apt-get's arguments)."""
    return (apt_update() if run == ["update"] else apt_get(*run)).shell()


def floor_script(runs: list[list[str]]) -> str:
    return "set -e\n" + "\n".join(run_line(run) for run in runs) + "\n"


def run_floor(box: Box, runs: list[list[str]]) -> tuple[float, int]:
    """(seconds, apt runs): the script of `runs` through one plain ssh session as root."""
    started = time.perf_counter()
    proc = subprocess.run(sandbox.ssh_command(box.info.name, "root", ["sh"]), input=floor_script(runs), text=True,
                          capture_output=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise ToolFailed(f"floor script exited {proc.returncode}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return seconds, len(runs)


def main() -> int:
    from bench.stack import boot, down

    sandbox.check_host()
    box = boot()
    try:
        for run in planned_apt(box):
            print("apt-get -y", shlex.join(run))
    finally:
        down(box)
    return 0


if __name__ == "__main__":
    sys.exit(main())
