"""Host facts of workers: the app's worker units as systemd and /proc see them (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact

UNIT_DIR = "/etc/systemd/system"


class Instance(TypedDict):
    active: str  # systemd's ActiveState: active, activating, deactivating, failed, inactive
    enabled: bool  # started at boot (a .wants link)
    since: float | None  # when it last entered the active state (epoch seconds)
    cwd: str | None  # the main process's working directory: the release it runs


class WorkerState(TypedDict):
    files: list[str]  # worker names with a unit file (APP-worker-NAME@.service)
    instances: dict[str, dict[str, Instance]]  # worker name -> instance -> state
    env_changed: float | None  # the newest modification time of the app's env files
    venv_changed: float | None  # the newest of the venv's marks (recipes.shared.web.venv_marks)


# $1 the app, $2.. the env files, then "--" and the venv's marks. Only this app's units: the name starts with
# APP-worker-, and parse keeps only names whose worker part is a worker name (no "-"), so another app called
# APP-worker-x is never read.
SCRIPT = r'''
app="$1"; shift
for f in /etc/systemd/system/"$app"-worker-*@.service; do [ -f "$f" ] && printf 'file %s\n' "${f##*/}"; done
for f in /etc/systemd/system/*.wants/"$app"-worker-*@*.service; do [ -e "$f" ] || [ -L "$f" ] || continue
  printf 'wants %s\n' "${f##*/}"; done
systemctl list-units --all --plain --no-legend "$app-worker-*@*.service" 2>/dev/null | while read -r u _l a _s _d; do
  pid=$(systemctl show -P MainPID "$u" 2>/dev/null); cwd=-
  [ "${pid:-0}" -gt 0 ] 2>/dev/null && cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null | tr ' ' '?')
  since=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix "$u" 2>/dev/null); since=${since#@}
  printf 'unit %s %s %s %s\n' "$u" "$a" "${since:--}" "${cwd:--}"
done
k=env; for f; do [ "$f" = -- ] && k=venv && continue; [ -e "$f" ] && printf '%s %s\n' $k "$(stat -c %Y "$f")"
done; true
'''


def unit_re(app: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(app)}-worker-([a-z][a-z0-9_]*)@([^.]*)\.service$")


@dataclass(frozen=True, eq=False)
class WorkerUnits(Fact):
    """Every worker unit of one app: unit files, instances (running, enabled, since when, in which release)."""

    app: str
    env_files: tuple[str, ...] = field(default=(), compare=False)
    venv_marks: tuple[str, ...] = field(default=(), compare=False)

    kind = "workers"

    def command(self) -> Command:
        return sh(SCRIPT, self.app, *self.env_files, "--", *self.venv_marks)

    def fresh(self) -> WorkerState:
        return {"files": [], "instances": {}, "env_changed": None, "venv_changed": None}

    def parse(self, out: str, status: int) -> WorkerState:
        found = unit_re(self.app)
        state = self.fresh()
        for line in out.splitlines():
            kind, _sep, rest = line.partition(" ")
            words = rest.split(" ")
            match = found.match(words[0])
            if kind == "env" and words[0].isdigit():
                state["env_changed"] = max(float(words[0]), state["env_changed"] or 0.0)
            elif kind == "venv" and words[0].isdigit():
                state["venv_changed"] = max(float(words[0]), state["venv_changed"] or 0.0)
            elif match and kind == "file" and not match.group(2):
                state["files"].append(match.group(1))
            elif match and match.group(2) and kind in ("wants", "unit"):
                unit = state["instances"].setdefault(match.group(1), {}).setdefault(
                    match.group(2), {"active": "inactive", "enabled": False, "since": None, "cwd": None})
                if kind == "wants":
                    unit["enabled"] = True
                elif len(words) == 4:
                    unit["active"] = words[1]
                    unit["since"] = float(words[2]) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", words[2]) else None
                    unit["cwd"] = None if words[3] == "-" else words[3]
        return state
