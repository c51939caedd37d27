"""Meaning-level checks several steps share (wizard.engine.meaning): a service runs, an account can reach a path.

Why a probe fact: a meaning asks what a person would ask by hand (`systemctl is-active nginx`, "can www-data
open this directory?"), and the answer is an exit status and a line of output. One small fact kind carries any
such read-only question, batched with the step's other facts in one round trip like every fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning

_ = translator(__file__)


@dataclass(frozen=True)
class Answer:
    status: int
    output: str

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True, eq=False)
class Probe(Fact):
    """A read-only question as a constant script of our own with its values as $1, $2...: (status, output)."""

    script: str
    args: tuple[str, ...] = ()

    kind = "probe"

    def command(self) -> Command:
        return sh(self.script, *self.args)

    def parse(self, out: str, status: int) -> Answer:
        return Answer(status, out.strip())


def service_active(unit: str, what: str) -> Meaning:
    """`unit` runs now (systemctl is-active says active)."""
    probe = Probe('systemctl is-active "$1"', (unit,))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        return _("{unit} is not running (systemctl is-active says {state}); see `journalctl -u {unit}`").format(
            unit=unit, state=answer.output or "?")

    return Meaning(what, (probe,), test)


def reachable_by(user: str, path: str, what: str) -> Meaning:
    """`user` can open `path` and every directory above it (the 403 trap, said with the first one it cannot)."""
    probe = Probe('p=$2; while [ -n "$p" ]; do runuser -u "$1" -- test -x "$p" || { echo "$p"; exit 1; }; '
                  '[ "$p" = / ] && break; p=$(dirname "$p"); done', (user, path))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        return _("{user} cannot pass through {dir} (it needs x permission on every directory above {path}); "
                 "nginx answers 403").format(user=user, dir=answer.output or path, path=path)

    return Meaning(what, (probe,), test)


def timer_not_enabled(timer: str) -> str:
    """Why a started timer still fails a meaning: the steps that grade timers (jobs, backups, the health check)
    all say it the same way."""
    return _("{timer} is started but not enabled: it would not run after a reboot (`systemctl enable "
             "{timer}`)").format(timer=timer)


__all__ = ["Answer", "Probe", "reachable_by", "service_active", "timer_not_enabled"]
