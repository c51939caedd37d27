"""The runbook export: a Markdown handout that explains every step of a recipe and its exact commands.

Why from the plan code: the commands in the handout are the ones the wizard would run on a fresh server
(wizard.app.preview), so the teaching text can never drift from what the tool does. Secrets are masked, secret
files are not shown. The language is the current one (--lang).
"""

from __future__ import annotations

from wizard.app.preview import preview
from wizard.app.recipefile import Recipe
from wizard.engine.commands import Command
from wizard.engine.i18n import _
from wizard.engine.step import PutFile, RunCommand


def _fill(text: str, recipe: Recipe) -> str:
    nginx = recipe.steps.nginx  # type: ignore[attr-defined]
    domain = nginx.server_names[0] if nginx is not None else "DOMAIN"
    return text.replace("APP", recipe.name).replace("DOMAIN", domain)


def as_typed(command: Command) -> str:
    """The line as a person types it at a root shell: a command the step runs as another user says so."""
    text = command.summary()
    return f"sudo -u {command.user} {text}" if command.user else text


def runbook(recipe: Recipe, source: str) -> str:
    ctx = recipe.context()
    out = [f"# {_('Runbook')}: {recipe.name} → {recipe.target.host}", "",
           _("Made by deploy-wizard from {file}. Every command below is what the wizard runs on a fresh Debian 12 "
             "server for this recipe; on a server that already has some of it, `deploy-wizard plan {file}` shows "
             "only what is missing. Secrets are shown as ***.").format(file=source), ""]
    for number, (step, settings) in enumerate(recipe.selected(), start=1):
        teaching = step.lesson()
        out += [f"## {number}. {step.label()}", "", f"**{_('Why')}.** {teaching.why}", ""]
        values = settings.model_dump(mode="json", exclude_defaults=True)
        if values:
            out += [f"**{_('Settings')}.** " + ", ".join(f"`{k}: {v}`" for k, v in values.items()), ""]
        changes, _notes, error = preview(step, settings, ctx)
        out += [f"**{_('Commands')}.**", "", "```sh"]
        for change in changes:
            out.append(f"# {change.why}")
            if isinstance(change, RunCommand):
                out.append(as_typed(change.command))
            else:
                out.append(f"# {change.describe()}")
        out += ["```", ""]
        for change in changes:
            if isinstance(change, PutFile) and not change.secret:
                out += [f"`{change.path}`:", "", "```", change.content.decode("utf-8", "replace").rstrip("\n"),
                        "```", ""]
        if error:
            out += [f"> {error}", ""]
        if teaching.verify:
            out += [f"**{_('Verify')}.**", "", "```sh", *(_fill(c, recipe) for c in teaching.verify), "```", ""]
        if teaching.troubleshoot:
            out += [f"**{_('If it fails')}.**", ""]
            out += [f"- `{_fill(symptom, recipe)}`: {_fill(fix, recipe)}"
                    for symptom, fix in teaching.troubleshoot]
            out.append("")
    return "\n".join(out)
