"""Package installs run ahead of their steps: the first step that installs packages installs, in the same run,
those of every later step that may safely have them early.

Why: each package run pays apt's cache load and dpkg's triggers (systemd's daemon-reload, ldconfig, ...) again,
and a first apply of a whole stack had nine of them. Why at the first installing step and not at the start of
the run: that step runs after the package lists are refreshed (os_updates refreshes them first).

How it stays honest and convergent without anything special in the steps:
- The step that installs (the host) plans as always; its install change carries a `Hoist` (what it installs,
  of which kind, how to build a run of many). Before the host's changes run, the later steps are planned from
  the facts as the host will leave them (a fork of the fact cache: the real one stays as read) and their
  install changes that say `early` join the host's in one change per kind (with or without Recommends, which
  must not mix). A dry run does the same at the same point, so `plan` on a fresh server shows the command that
  apply runs.
- A later step then finds its packages installed (its facts say so) and plans no install, exactly as on a
  re-run after a partial apply; a kill during the merged run leaves dpkg's own journal, finished by the next
  install (recipes/shared/apt.py FINISH_INTERRUPTED), and the host plans the same merged change again.
- Its failure is the host's failure, with the merged change's text naming each step whose packages it held.
- A step decides `early` per package set, in its own code, and says why: Debian starts a package's services
  when it installs it, so a package whose service would be reachable from outside before its own step
  configures it (an exporter on all addresses, fail2ban banning) never runs ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wizard.engine.facts import Fact, FactGatherer
from wizard.engine.step import Change, Context, Later, RunCommand, Step, StepSettings

Parts = tuple[tuple[str, tuple[str, ...]], ...]  # (step, what it installs); the host's own first, as step ""


@dataclass(frozen=True)
class Hoist:
    """What lets an install change take in the installs of later steps (see the module's docstring)."""

    kind: str  # changes of one kind merge into one ("apt install --no-install-recommends")
    items: tuple[str, ...]  # what it installs (package names)
    early: bool  # its step allows it to run ahead, in an earlier step's run
    build: Callable[[Parts], RunCommand]  # the change that installs all of these parts in one run


def hoisted(change: Change) -> Hoist | None:
    hoist = getattr(change, "hoist", None)
    return hoist if isinstance(hoist, Hoist) else None


async def _first_pass(step: Step, settings: StepSettings, facts: FactGatherer, ctx: Context,
                      rounds: int) -> list[Change]:
    """The step's first plan, from `facts` (asked in as many rounds as its facts depend on each other)."""
    known = facts.cache
    for _round in range(rounds):
        wanted = [fact for fact in step.facts(settings, known, ctx) if fact not in known]
        if not wanted:
            break
        known = await facts.gather(wanted, by=step.name)
    return [item for item in step.plan(settings, known, ctx) if isinstance(item, Change)
            and not isinstance(item, Later)]


async def later_installs(rest: Sequence[tuple[Step, StepSettings]], facts: FactGatherer,
                         leaves: Iterable[tuple[Fact, Any]], ctx: Context, rounds: int) -> list[tuple[str, Hoist, Any]]:
    """The early installs of the steps in `rest`, each planned from the facts the host and the steps before it
    will leave: (step, its Hoist, its leaves). A step that cannot plan yet is left to its own turn."""
    fork = facts.fork()
    fork.expect(leaves)
    found: list[tuple[str, Hoist, Any]] = []
    for step, settings in rest:
        try:
            changes = await _first_pass(step, settings, fork, ctx, rounds)
        except Exception:  # noqa: BLE001 - looking ahead only saves time: its own turn plans it and says why not
            continue
        for change in changes:
            hoist = hoisted(change)
            if hoist is not None and hoist.early:
                found.append((step.name, hoist, change.leaves))
        fork.expect(leaf for change in changes for leaf in change.leaves)
    return found


def merge(changes: list[Change], found: list[tuple[str, Hoist, Any]]) -> list[Change]:
    """The host's changes, its first install of each kind widened to the later steps' of that kind; a kind the
    host does not install comes right after the host's first install."""
    if not found:
        return changes
    host_kinds = {hoist.kind for hoist in map(hoisted, changes) if hoist is not None}
    out: list[Change] = []
    taken: set[str] = set()
    for change in changes:
        hoist = hoisted(change)
        if hoist is None or hoist.kind in taken:
            out.append(change)
            continue
        out.append(_merged([("", hoist, change.leaves), *(item for item in found if item[1].kind == hoist.kind)],
                           fallback=change))
        if not taken:  # the kinds only later steps install, in the order they first ask for them
            for kind in dict.fromkeys(item[1].kind for item in found if item[1].kind not in host_kinds):
                out.append(_merged([item for item in found if item[1].kind == kind]))
        taken.add(hoist.kind)
    return out


def _merged(parts: Sequence[tuple[str, Hoist, Any]], fallback: Change | None = None) -> Change:
    if fallback is not None and len(parts) == 1:
        return fallback  # nothing joined this kind: the host's own change, unchanged
    built = parts[0][1].build(tuple((name, hoist.items) for name, hoist, _leaves in parts))
    return replace(built, leaves=tuple(leaf for _name, _hoist, leaves in parts for leaf in leaves))


__all__ = ["Hoist", "Parts", "hoisted", "later_installs", "merge"]
