"""The runbook export: a Markdown handout that explains every step of a recipe and its exact commands.

Why from the plan code: the commands in the handout are the ones the wizard would run on a fresh server
(wizard.app.preview), so the teaching text can never drift from what the tool does. Secrets are masked, secret
files are not shown. The language is the current one (--lang).
"""

from __future__ import annotations

from wizard.app.preview import preview
from wizard.app.recipefile import Recipe
from wizard.app.teach import Login, Teacher, as_typed, change_lines, command_line, groups
from wizard.engine.i18n import _
from wizard.engine.intent import Intent
from wizard.engine.step import Change, Later, PutFile, RunCommand


def command_block(change: Change, login: Login) -> list[str]:
    """One planned change as lines to paste into a shell on the server: `# why`, then its command as typed (a
    file write in words, as a comment); a change the run decides (Later) as the if/elif of its cases."""
    out = [f"# {change.why}"]
    if isinstance(change, RunCommand):  # as typed by the recipe's login: sudo where root is needed
        return [*out, as_typed(change.command, login)]
    if isinstance(change, Later) and change.choices:
        out.append(f"# {change.reason}")
        for index, (test, what, cases) in enumerate(change.choices):
            out.append(f"{'if' if index == 0 else 'elif'} {as_typed(test, login)}; then  # {what}")
            out += ["  " + line for case in cases for line in command_block(case, login)]
        return [*out, "fi"]
    return out + [line.removeprefix("$ ") if line.startswith("$ ") else f"# {line}"
                  for line in change_lines(change, login)]


def lead(word: str) -> str:
    """A paragraph's bold run-in heading: "**Why.**" in English, "**原因：**" in Chinese (never ASCII stops)."""
    return f"**{word}{_('.', context='after a run-in heading')}**"


def pin_commits(recipe: Recipe, timeout: float = 30) -> tuple[Recipe, str]:
    """The recipe with each branch or tag read once, here (as `plan` and a fleet do), so the runbook's checkout and
    staging name a real commit and run as shown; and what the runbook says about it. When this machine cannot
    read it (no network, no git), the recipe as it is and why: those commands then stay comments."""
    import asyncio

    from wizard.app.fleet import pin_shared
    from wizard.engine.errors import DeployWizardError

    try:
        pinned, overrides = asyncio.run(asyncio.wait_for(pin_shared(recipe), timeout))
    except (DeployWizardError, OSError) as exc:
        return recipe, _("The commit could not be read from this machine ({why}): the checkout below names it "
                         "<commit>, and `deploy-wizard apply` reads it on the server.").format(why=exc)
    except TimeoutError:
        return recipe, _("The commit could not be read from this machine in {n} s: the checkout below names it "
                         "<commit>, and `deploy-wizard apply` reads it on the server.").format(n=int(timeout))
    said = [_("{field} `{ref}` was commit {commit} when this runbook was made: the commands below check out that "
              "commit, while `deploy-wizard apply` deploys what `{ref}` names when it runs.").format(
                  field=override.partition("=")[0], commit=override.partition("=")[2][:12],
                  ref=_original(recipe, override.partition("=")[0])) for override in overrides]
    return pinned, " ".join(said)


def _original(recipe: Recipe, field: str) -> str:
    """The value `field` (STEP.NAME) has in the recipe as written."""
    step, _dot, name = field.partition(".")
    return next((str(getattr(settings, name, "")) for chosen, settings in recipe.selected() if chosen.name == step), "")


def runbook(recipe: Recipe, source: str, pinned: Recipe | None = None, note: str = "") -> str:
    """The handout of `recipe`; its commands planned from `pinned` (the same recipe with its branches read as
    commits, pin_commits) when given, and `note` said under the introduction."""
    ctx = (pinned or recipe).context()
    teacher = Teacher.for_recipe(recipe)
    colon = _(": ", context="before what it introduces")
    out = [_("# Runbook: {app} → {host}").format(app=recipe.name, host=recipe.target.host), "",
           _("Made by deploy-wizard from {file}. Every command below is what the wizard runs on a fresh Debian 13 "
             "server for this recipe; on a server that already has some of it, `deploy-wizard plan {file}` shows "
             "only what is missing. Secrets are shown as ***.").format(file=source), ""]
    if note:
        out += [note, ""]
    planned = {step.name: settings for step, settings in (pinned or recipe).selected()}
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
        changes, _notes, error = preview(step, planned[step.name], ctx)
        out += [lead(_("Commands")), "", "```sh"]
        for change in changes:
            out += command_block(change, teacher.login)
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
