"""The runbook export: a Markdown handout that explains every step of a recipe and its exact commands.

Why from the plan code: the commands in the handout are the ones the wizard would run on a fresh server
(wizard.app.preview), so the teaching text can never drift from what the tool does. Secrets are masked, secret
files are not shown. The language is the current one (--lang).
"""

from __future__ import annotations

from wizard.app.preview import preview
from wizard.app.recipefile import Recipe
from wizard.app.teach import Teacher, as_typed, change_lines, command_line, groups
from wizard.engine.i18n import _
from wizard.engine.intent import Intent
from wizard.engine.step import PutFile, RunCommand


def lead(word: str) -> str:
    """A paragraph's bold run-in heading: "**Why.**" in English, "**原因：**" in Chinese (never ASCII stops)."""
    return f"**{word}{_('.', context='after a run-in heading')}**"


def runbook(recipe: Recipe, source: str) -> str:
    ctx = recipe.context()
    teacher = Teacher.for_recipe(recipe)
    colon = _(": ", context="before what it introduces")
    out = [_("# Runbook: {app} → {host}").format(app=recipe.name, host=recipe.target.host), "",
           _("Made by deploy-wizard from {file}. Every command below is what the wizard runs on a fresh Debian 13 "
             "server for this recipe; on a server that already has some of it, `deploy-wizard plan {file}` shows "
             "only what is missing. Secrets are shown as ***.").format(file=source), ""]
    for number, (step, settings) in enumerate(recipe.selected(), start=1):
        lesson = teacher.lesson(step)
        out += [f"## {number}. {lesson.title}", "", f"{lead(_('Why'))} {lesson.why}", ""]
        values = settings.model_dump(mode="json", exclude_defaults=True)
        if values:
            out += [f"{lead(_('Settings'))} " + _(", ", context="between items").join(
                f"`{k}: {v}`" for k, v in values.items()), ""]
        if isinstance(step, Intent):  # the goals: the answers and the reason behind each default they give
            out += [lead(_("Goals and the reasons behind each default")), ""]
            out += [f"- {line}" for line in step.explain(settings, ctx)] + [""]
        changes, _notes, error = preview(step, settings, ctx)
        out += [lead(_("Commands")), "", "```sh"]
        for change in changes:
            out.append(f"# {change.why}")
            if isinstance(change, RunCommand):  # as typed by the recipe's login: sudo where root is needed
                out.append(as_typed(change.command, teacher.login))
            else:
                out += [line.removeprefix("$ ") if line.startswith("$ ") else f"# {line}"
                        for line in change_lines(change, teacher.login)]
        out += ["```", ""]
        for change in changes:
            if isinstance(change, PutFile) and not change.secret:
                out += [f"`{change.path}`{colon.rstrip()}", "", "```",
                        change.content.decode("utf-8", "replace").rstrip("\n"), "```", ""]
        if error:
            out += [f"> {error}", ""]
        for index, (local, checks) in enumerate(groups(lesson)):
            head = f"{lead(_('Verify'))} " if index == 0 else ""
            out += [head + teacher.where(local), "", "```sh", *(command_line(c) for c in checks), "```", ""]
        if lesson.troubleshoot:
            out += [lead(_("If it fails")), ""]
            out += [f"- `{symptom}`{colon}{fix}" for symptom, fix in lesson.troubleshoot]
            out.append("")
    return "\n".join(out)


__all__ = ["as_typed", "runbook"]
