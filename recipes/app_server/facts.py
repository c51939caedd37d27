"""Host facts of app_server: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recipes.shared.web import app_env_files, venv_marks
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FileInfo
from wizard.engine.step import Context


class CpuCount(Fact):
    kind = "nproc"

    def command(self) -> Command:
        return cmd("nproc")

    def fresh(self) -> int:
        return 2

    def parse(self, out: str, status: int) -> int:
        return int(out.strip() or 1)


Age = dict[str, float | None]  # started; changed (the env files); packages (the venv's marks)


@dataclass(frozen=True, eq=False)
class EnvAge(Fact):
    """When the service last started, when its env files last changed, and when the venv's marks did
    (recipes.shared.web.venv_marks): epoch seconds, or None. One question for both, so the unit's start is read
    once.

    Why: systemd reads EnvironmentFile= only when the service starts, and a graceful reload keeps the old
    environment. A database password changed by the database step must restart the app; comparing times
    needs no secret (a hash of the file would be one more form of the password). A process keeps the modules it
    imported: a venv made anew under it must restart it too.
    """

    unit: str
    files: tuple[str, ...]
    marks: tuple[str, ...] = ()

    kind = "env-age"

    def command(self) -> Command:
        return sh('systemctl show -P ActiveEnterTimestamp --timestamp=us+utc "$1" 2>/dev/null || echo; shift; '
                  'for f; do [ "$f" = -- ] && echo -- && continue; [ -e "$f" ] && stat -c %.6Y "$f"; done; true',
                  self.unit, *self.files, "--", *self.marks)

    def fresh(self) -> Age:
        return {"started": None, "changed": None, "packages": None}

    def parse(self, out: str, status: int) -> Age:
        lines = out.splitlines() or [""]
        started = None
        stamp = lines[0].strip()
        if stamp and stamp != "n/a":
            started = datetime.strptime(stamp, "%a %Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=UTC).timestamp()
        env, _sep, marks = "\n".join(lines[1:]).partition("--")
        latest = [max((float(line) for line in part.split() if line.strip()), default=None) for part in (env, marks)]
        return {"started": started, "changed": latest[0], "packages": latest[1]}

    @staticmethod
    def newer(value: Age, what: str = "changed") -> bool:
        """Whether the env files ("changed") or the venv's marks ("packages") changed after the service started."""
        started, changed = value["started"], value.get(what)
        return bool(started and changed and changed > started)

    def after(self, value: Age, planned: Mapping[str, Any]) -> Age:
        """In a dry run, an env file an earlier change writes (the code step's app.env, the database step's
        password), or an install into the venv (its marker), counts as changed after the service started: apply
        will find it so and restart the service, and the plan says so too."""
        started = value["started"]
        if started is None:
            return value
        value = dict(value)
        for what, paths in (("changed", self.files), ("packages", self.marks)):
            if any(FileInfo(path).key in planned for path in paths):
                value[what] = max(value.get(what) or started, started + 1)
        return value


def env_age(unit: str, ctx: Context) -> EnvAge:
    """The unit's start against every env file of the app and the venv's marks."""
    return EnvAge(unit, tuple(app_env_files(ctx)), tuple(venv_marks(ctx)))


def started_after(unit: str, files: Sequence[str]) -> Command:
    """Succeeds when the unit started after every one of the files last changed (a restart's skip_if)."""
    return sh('s=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix "$1"); s=${s#@}; shift; '
              'for f; do [ -e "$f" ] && [ "$(stat -c %Y "$f")" -gt "${s:-0}" ] && exit 1; done; exit 0', unit, *files)
