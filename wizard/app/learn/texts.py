"""What `deploy-wizard learn` and its screen say: a step to do, a grade, a comparison, the list of drills.

Why apart from the handler: the same words go to the terminal and (as JSON) to scripts and tests, and the
handler stays about what happens in which order.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from wizard.app.learn.course import StepView
from wizard.app.learn.drills import Drill
from wizard.app.learn.grade import Grade
from wizard.app.learn.progress import DrillState, Progress
from wizard.engine.i18n import _, n_

OK, NO = "✓", "✗"


def step_text(view: StepView, ssh: str) -> str:
    lines = [_("Step {n} of {total}: {title}").format(n=view.number, total=view.total, title=view.title), "",
             _("Your goal: {goal}").format(goal=view.goal),
             _("The tutorial: {section}").format(section=view.section), "",
             view.ideas, "",
             _("Work by hand in a second terminal: {ssh}").format(ssh=ssh),
             _("Then: `deploy-wizard learn check` (Check my work), `learn hint` (a hint, vaguest first), "
               "`learn do` (let the tool do the rest and compare)")]
    return "\n".join(lines)


def grade_text(grade: Grade, title: str) -> str:
    lines = [_("Check my work: {title}").format(title=title)]
    if grade.error:
        lines.append(f"{NO} {grade.error}")
    for finding in grade.findings:
        lines.append(f"{OK if finding.holds else NO} {finding.what}")
        if not finding.holds:
            lines.append(f"    {finding.reason}")
    if grade.missing:
        lines.append(_("Still missing:"))
        lines += [f"  - {item.why}" for item in grade.missing]  # its reason is the failed meaning's, said above
    if grade.differs:
        lines.append(_("Differs from the recommended setup (it works as it is; `learn do` would change it):"))
        lines += [f"  - {item.why}" for item in grade.differs]
    if grade.warnings:
        lines += [f"  ! {text}" for text in grade.warnings]
    if grade.checks:
        lines.append(_("The step's checks:"))
        for check in grade.checks:
            lines.append(f"  {OK if check.passed else NO} {check.command}")
            if not check.passed and check.output:
                lines += [f"      {line}" for line in check.output.splitlines()]
    count = len(grade.reasons())
    lines.append(_("Passed: the step is done.") if grade.passed else n_(
        "Not yet: {n} thing to fix.", "Not yet: {n} things to fix.", count).format(n=count))
    return "\n".join(lines)


def grade_json(grade: Grade) -> dict[str, Any]:
    data = asdict(grade)
    data["passed"] = grade.passed
    data["reasons"] = grade.reasons()
    data["checks"] = [{"command": c.command, "passed": c.passed, "output": c.output} for c in grade.checks]
    return data


def compare_text(before: Grade, changes: int) -> str:
    """After `learn do`: what the tool added to the learner's work, and where theirs differed."""
    lines = [n_("The tool made {n} change to finish the step.", "The tool made {n} changes to finish the step.",
                changes).format(n=changes)]
    for title, items in ((_("What was still missing:"), before.missing),
                         (_("Where your work differed from the recommended setup:"), before.differs)):
        if items:
            lines.append(title)
            for item in items:
                lines.append(f"  - {item.why}")
                lines += [f"      {line}" for line in item.commands]
                lines += [f"      {line}" for line in item.diff.rstrip("\n").splitlines()]
    return "\n".join(lines)


def drills_text(drills: list[Drill], progress: Progress) -> str:
    lines = [_("Break and fix drills (`deploy-wizard learn drill NAME` breaks one):")]
    for drill in drills:
        record = progress.drills.get(drill.name)
        mark = OK if record and record.state is DrillState.FIXED else ("!" if record else " ")
        lines.append(f"  {mark} {drill.name:15} " + _("(step {step})").format(step=drill.step))
    return "\n".join(lines)


__all__ = ["compare_text", "drills_text", "grade_json", "grade_text", "step_text"]
