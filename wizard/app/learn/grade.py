""""Check my work": grade one step done by hand, on meaning, with the step's own plan, facts and checks.

Why no grader of its own: what a step must leave is already said three times by the step itself (its plan,
its meaning-level checks, its verify checks) and proven by `apply` and `check`. A second list written for
grading would drift from them. So a grade is:

- every meaning of the step (Step.meanings), held or not with the reason;
- the changes its plan still wants, split in two: those a holding meaning covers differ from the recommended
  setup only (a note), the others are still missing, said in the words of the change's *why* (the command is
  kept for a hint or the comparison, never shown unless asked);
- the step's verify checks (the teaching's commands, as `deploy-wizard verify` runs them) and its after-apply
  checks (health checks): a site that works by accident with wrong permissions still fails, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wizard.app.checks import CheckResult, Verdict, mask, run_checks, shorten
from wizard.app.teach import Teacher, change_lines
from wizard.engine.events import Event
from wizard.engine.facts import FactValues
from wizard.engine.i18n import _
from wizard.engine.meaning import Meaning
from wizard.engine.runner import Runner
from wizard.engine.step import Change, Context, Later, PlanError, PutFile, Step, StepSettings
from wizard.engine.transports.base import Transport, TransportError


@dataclass(frozen=True)
class Finding:
    """One meaning of the step as the server answered it: `reason` is None when it holds."""

    what: str
    reason: str | None

    @property
    def holds(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Item:
    """A change the step's plan still wants: `why` for everyone, the commands and diff only for a hint."""

    why: str
    reason: str = ""  # the failing meaning that makes it matter
    commands: tuple[str, ...] = ()
    diff: str = ""


@dataclass
class Grade:
    step: str
    findings: list[Finding] = field(default_factory=list)
    missing: list[Item] = field(default_factory=list)
    differs: list[Item] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""  # the plan could not be made (what the server lacks before this step can even be planned)

    @property
    def passed(self) -> bool:
        return (not self.error and all(f.holds for f in self.findings) and not self.missing
                and all(c.passed for c in self.checks))

    def reasons(self) -> list[str]:
        """Why it did not pass, each in one line: the broken meanings, the missing items, the failed checks."""
        out = [self.error] if self.error else []
        out += [f.reason for f in self.findings if f.reason is not None]
        out += [_("still missing: {why}").format(why=item.why) for item in self.missing]
        out += [_("check failed: {command}").format(command=c.command) for c in self.checks if not c.passed]
        return out


def _item(change: Change, teacher: Teacher, reason: str = "") -> Item:
    diff = change.diff() if isinstance(change, PutFile) else ""
    commands = () if isinstance(change, Later) else tuple(change_lines(change, teacher.login))
    return Item(change.why, reason, commands, diff)


def sort_changes(changes: Sequence[Change], findings: Sequence[tuple[Meaning, str | None]],
                 teacher: Teacher) -> tuple[list[Item], list[Item]]:
    """(missing, differs): a change is a difference of taste only when a meaning that holds covers it and no
    meaning that fails does; every other change is still missing (with the failing meaning's reason)."""
    missing: list[Item] = []
    differs: list[Item] = []
    for change in changes:
        held = [m for m, reason in findings if reason is None and m.covers(change)]
        failing = [reason for m, reason in findings if reason is not None and m.covers(change)]
        if held and not failing:
            differs.append(_item(change, teacher))
        else:
            missing.append(_item(change, teacher, "; ".join(dict.fromkeys(r for r in failing if r))))
    return missing, differs


def judge(meanings: Sequence[Meaning], facts: FactValues) -> list[tuple[Meaning, str | None]]:
    """Each meaning against the facts; a fact the server did not answer is a reason, not a traceback."""
    out: list[tuple[Meaning, str | None]] = []
    for meaning in meanings:
        try:
            out.append((meaning, meaning.judge(facts)))
        except KeyError:
            out.append((meaning, _("the server did not answer")))
    return out


async def _after_apply_checks(transport: Transport, step: Step, settings: StepSettings,
                              ctx: Context) -> list[CheckResult]:
    results = []
    for check in step.verify(settings, ctx):
        try:
            answer = await transport.run(check.command, timeout=check.timeout or 60)
        except TransportError as exc:
            results.append(CheckResult(step.name, check.why, Verdict.NOT_RUN, None, str(exc)))
            continue
        output = shorten(mask(answer.stdout + answer.stderr, transport.masker))
        results.append(CheckResult(step.name, check.why, Verdict.PASSED if answer.exit_status in check.ok_codes
                                   else Verdict.FAILED, answer.exit_status, output))
    return results


async def grade_step(transport: Transport, step: Step, settings: StepSettings, ctx: Context,
                     teacher: Teacher) -> Grade:
    """Grade one step on a connected transport. Reads only: facts, the teaching's checks, the health checks."""
    grade = Grade(step.name)
    events: list[Event] = []
    runner = Runner(transport, [(step, settings)], events.append, ctx=ctx)
    try:
        plan = await runner.plan_step(step, settings)
    except PlanError as exc:
        grade.error = str(exc)
        return grade
    meanings = list(step.meanings(settings, ctx))
    facts = await runner.facts.gather(f for m in meanings for f in m.facts)
    found = judge(meanings, facts)
    grade.findings = [Finding(m.what, reason) for m, reason in found]
    grade.missing, grade.differs = sort_changes([*plan.changes, *plan.later], found, teacher)
    grade.warnings = [w.text for w in plan.warnings]
    grade.checks = await run_checks(transport, [teacher.lesson(step)])
    grade.checks += await _after_apply_checks(transport, step, settings, ctx)
    return grade


__all__ = ["Finding", "Grade", "Item", "grade_step", "judge", "sort_changes"]
