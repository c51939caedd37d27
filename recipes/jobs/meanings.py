"""What must hold for the jobs step, however it was reached (wizard.engine.meaning).

Why any timer: a learner who writes a timer and a service of other names (one unit file for two jobs' schedule,
a service that calls the venv's python by its path) did the job when an enabled, started timer starts a
service that runs the job's command as the app user. The unit names and texts this step would write are then a
difference from the recommended setup. Why not cron: the step's purpose is a run whose exit status, output and
time systemd records (`check` reads them), which a crontab line does not give.
"""

from __future__ import annotations

from recipes.shared.meanings import Probe, timer_not_enabled
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning

_ = translator(__file__)

# $1 the app user, $2 the job's command (its words as the recipe has them). Each started timer whose service runs
# a command line ending in it: exit 0 (the timer) when the service runs as $1 and the timer is enabled; 2 (the
# timer, the user) when it runs as another account; 3 (the timer) when the timer is not enabled; 1 when no
# started timer runs it.
JOB = r'''
for t in $(systemctl list-units --type=timer --state=active --plain --no-legend | cut -d' ' -f1); do
  s=$(systemctl show -P Unit "$t") || continue
  case "$(systemctl show -P ExecStart "$s")" in *"$2 ;"*) ;; *) continue;; esac
  u=$(systemctl show -P User "$s")
  [ "$u" = "$1" ] || { echo "$t ${u:-root}"; exit 2; }
  [ "$(systemctl is-enabled "$t" 2>/dev/null)" = enabled ] || { echo "$t"; exit 3; }
  echo "$t"; exit 0
done
exit 1
'''


def job_meaning(name: str, command: str, user: str, base: str) -> Meaning:
    """An enabled, started timer starts a service that runs `command` as `user` (units of any name)."""
    probe = Probe(JOB, (user, command))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 2:
            timer, _sep, account = answer.output.partition(" ")
            return _("{timer} runs {command} as {account}, not as {user}").format(
                timer=timer, command=command, account=account, user=user)
        if answer.status == 3:
            return timer_not_enabled(answer.output)
        return _("no started timer runs {command} (`systemctl list-timers` lists them)").format(command=command)

    def covers(change: object) -> bool:  # its unit files, their reload and start; never another job's
        said = str(getattr(change, "describe", lambda: "")())
        return base in said or said == "systemctl daemon-reload"

    return Meaning(_("job {name}: a started, enabled timer runs {command} as {user}").format(
        name=name, command=command, user=user), (probe,), test, covers=covers)


__all__ = ["job_meaning"]
