"""The end-of-course summary for the trainer, as Markdown: steps by hand, hints used, drills fixed, time taken.

Why Markdown: trainers paste it into a ticket, a wiki or a mail; it reads well as plain text too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from wizard.app.learn.progress import DrillState, Progress, StepState
from wizard.engine.i18n import _, n_


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("{h} h {m} min").format(h=hours, m=minutes)
    return n_("{n} minute", "{n} minutes", minutes).format(n=minutes)


def state_words(state: StepState) -> str:
    return {StepState.OPEN: _("not done yet"), StepState.BY_HAND: _("by hand"),
            StepState.WITH_TOOL: _("begun by hand, finished by the tool"),
            StepState.BY_TOOL: _("done by the tool")}[state]


def markdown(progress: Progress, titles: Mapping[str, str], drill_titles: Mapping[str, str]) -> str:
    """The summary; `titles`: each course step's title in order, `drill_titles`: each drill's, by name."""
    steps = [(name, progress.steps.get(name)) for name in titles]
    by_hand = sum(1 for _name, record in steps if record and record.state is StepState.BY_HAND)
    hints = sum(record.hints for _name, record in steps if record)
    fixed = sum(1 for record in progress.drills.values() if record.state is DrillState.FIXED)
    end = max([progress.updated, *(r.finished for _n, r in steps if r)])
    lines = [
        "# " + _("deploy-wizard learn: summary for {learner}").format(learner=progress.learner), "",
        _("- Server: {host}").format(host=progress.host),
        _("- Started: {when}").format(when=time.strftime("%Y-%m-%d %H:%M", time.localtime(progress.started))),
        _("- Time taken: {time}").format(time=duration(end - progress.started)),
        _("- Steps done by hand: {n} of {total}").format(n=by_hand, total=len(steps)),
        _("- Hints used: {n}").format(n=hints),
        _("- Drills fixed: {n} of {total}").format(n=fixed, total=len(progress.drills)), "",
        "## " + _("Steps"), "",
        "| " + " | ".join((_("step"), _("how"), _("hints"), _("checks"), _("time"))) + " |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, record in steps:
        if record is None:
            lines.append(f"| {titles[name]} | {state_words(StepState.OPEN)} | 0 | 0 | |")
            continue
        spent = duration(record.finished - record.started) if record.finished else ""
        lines.append(f"| {titles[name]} | {state_words(record.state)} | {record.hints} | {record.checks} | {spent} |")
    if progress.drills:
        lines += ["", "## " + _("Break and fix drills"), "",
                  "| " + " | ".join((_("drill"), _("result"), _("checks"), _("time to fix"))) + " |",
                  "| --- | --- | ---: | ---: |"]
        for name, record in progress.drills.items():
            result = _("fixed") if record.state is DrillState.FIXED else _("not fixed")
            spent = duration(record.fixed - record.broken) if record.fixed else ""
            lines.append(f"| {drill_titles.get(name, name)} | {result} | {record.checks} | {spent} |")
    return "\n".join(lines) + "\n"


__all__ = ["duration", "markdown", "state_words"]
