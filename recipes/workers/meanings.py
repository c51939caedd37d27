"""What must hold for the workers step, however it was reached (wizard.engine.meaning).

Why per worker, from the step's own WorkerUnits fact: a worker's unit written by hand (other comments, order or
options) does the job when its N instances APP-worker-NAME@1..N run in the live release, and no more of them;
the unit file, daemon-reload and restarts this step would do are then a difference from the recommended setup.
That they keep running a few seconds later (no crash at import) is the step's verify check, run by grading too.
"""

from __future__ import annotations

from recipes.shared.common import linked_release
from recipes.shared.facts import Readlink
from recipes.workers.facts import WorkerState, WorkerUnits
from wizard.engine.facts import FactValues
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.meaning import Meaning, covering

_ = translator(__file__)
n_ = plural_translator(__file__)


def worker_meaning(state_fact: WorkerUnits, app: str, current: str, name: str, count: int) -> Meaning:
    """Worker `name` runs exactly `count` active instances (@1..@count), each enabled (started at boot) and in the
    live release `current` points to."""
    link = Readlink(current)
    base = f"{app}-worker-{name}@"

    def test(facts: FactValues) -> str | None:
        state: WorkerState = facts[state_fact]
        live = linked_release(facts, current)
        if live is None:
            return _("{link} points to no release yet: deploy the code first").format(link=current)
        have = state["instances"].get(name, {})
        for i in range(1, count + 1):
            unit = f"{base}{i}.service"
            got = have.get(str(i))
            if got is None or got["active"] != "active":
                return _("{unit} is not running (`systemctl status {unit}`)").format(unit=unit)
            if not got["enabled"]:
                return _("{unit} is not enabled: it would not start at boot (`systemctl enable {unit}`)").format(
                    unit=unit)
            if str(got["cwd"] or "").rstrip("/").rsplit("/", 1)[-1] != live:
                return _("{unit} runs in {cwd}, not in the live release {live}: restart it").format(
                    unit=unit, cwd=got["cwd"] or "?", live=live)
        extra = sorted(i for i, st in have.items() if st["active"] == "active" and not (
            i.isdigit() and 1 <= int(i) <= count))
        if extra:
            return n_("worker {name} runs {n} instance more than its {count}: {units}",
                      "worker {name} runs {n} instances more than its {count}: {units}", len(extra)).format(
                          name=name, n=len(extra), count=count, units=", ".join(f"{base}{i}" for i in extra))
        return None

    what = n_("worker {name}: {n} instance runs in the live release", "worker {name}: {n} instances run in the "
              "live release", count).format(name=name, n=count)
    return Meaning(what, (state_fact, link), test, covers=covering(base, "daemon-reload"))


__all__ = ["worker_meaning"]
