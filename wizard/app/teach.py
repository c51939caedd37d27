"""Teaching text with the recipe's real names: the one renderer of every step's why, checks and fixes.

Why one renderer: the step screens, the Summary, the runbook and `deploy-wizard verify` all show the same
lessons, and each used to fill in the placeholders its own way (one knew the domain, another only the app
name), so the same command read differently on two screens and often did not run as shown. Here every
placeholder (APP, USER, DOMAIN, ... and whatever a step adds through `Step.teaching_values`) is filled from the
recipe, a check that needs root carries `sudo` unless the login user is root, one run as another account
carries `sudo -u` (`runuser` for root), and each lesson says where its commands run.

Placeholders are upper-case words standing alone (`/srv/APP/venv`, `APP.service`, `APP-health`), never part of
a longer word or a shell variable (`$USER`, `ALLOWED_HOSTS` stay as they are), in English and Chinese text alike.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from wizard.app import registry
from wizard.engine.commands import NOTE, Op, noted, quote
from wizard.engine.i18n import _
from wizard.engine.step import Change, Check, Context, PlanError, PutFile, RunCommand, Step, StepSettings

if TYPE_CHECKING:
    from wizard.app.draft import Draft
    from wizard.app.recipefile import Recipe
    from wizard.engine.commands import Command

# What every recipe defines; steps add their own (DOMAIN from nginx and tls, DB_NAME from the database...).
BASE_PLACEHOLDERS = ("APP", "USER", "HOST", "SSH_PORT", "SSH_LOGIN", "DOMAIN")


@dataclass(frozen=True)
class Login:
    """How a person reaches the server: what `SSH_LOGIN` and "where to run" say."""

    host: str
    port: int = 22
    user: str | None = None  # None: from ~/.ssh/config or the local name (not known here)
    key: str | None = None

    def ssh(self) -> str:
        """The ssh command line that opens a shell there, with only the options this login needs."""
        parts = ["ssh"]
        if self.port != 22:
            parts += ["-p", str(self.port)]
        if self.key:
            parts += ["-i", self.key]
        parts.append(f"{self.user}@{self.host}" if self.user else self.host)
        return " ".join(parts)

    @property
    def is_root(self) -> bool:
        return self.user == "root"


@dataclass(frozen=True)
class ShownCheck:
    """A check with the recipe's names: `text` is what runs (privileges aside), `typed` what a person types."""

    step: str
    text: str
    typed: str
    root: bool
    user: str | None
    local: bool
    note: str = ""


@dataclass(frozen=True)
class Lesson:
    step: str
    title: str
    why: str
    checks: list[ShownCheck]
    troubleshoot: list[tuple[str, str]]


def fill(text: str, values: Mapping[str, str]) -> str:
    """Every placeholder of `values` standing alone in `text`, replaced by its value (in one pass, so a value
    that happens to contain a placeholder's word is left as it is)."""
    if not values:
        return text
    names = "|".join(sorted((re.escape(name) for name in values), key=len, reverse=True))
    pattern = r"(?<![A-Za-z0-9_$])(" + names + r")(?![A-Za-z0-9_])"
    return re.sub(pattern, lambda m: values[m.group(1)], text)


def typed(text: str, *, root: bool, user: str | None, login: Login) -> str:
    """The line as the login user types it: `sudo` for root's, `sudo -u` (as root: `runuser -u`) for another
    account's, nothing for the login user's own."""
    if user and user != login.user:
        return f"runuser -u {user} -- {text}" if login.is_root else f"sudo -u {user} {text}"
    if root and not login.is_root:
        return f"sudo {text}"
    return text


# A display that abridges what runs (`...`, `<token>`, `<the release before>` or its translation `<上一个版本>`): shown
# as a comment, not as a line to paste; what it stands for is written out only in the script the transport runs.
_ABRIDGED = re.compile(r"\.\.\.|…|<[a-z\u4e00-\u9fff][a-z' \u4e00-\u9fff]*>")


def _compound(line: str) -> bool:
    """Shell syntax a privilege prefix would not cover: `sudo a && b` runs only `a` as root, `sudo cd` fails."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # an unclosed quote: let a shell read it whole
        return True
    if not words:
        return False
    return (any(set(word) <= set("();<>|&") for word in words)
            or "=" in words[0] or words[0] in ("cd", "export", ".", "set"))


def _line(command: Command) -> str:
    """The command as one line: its display, else its masked words, an environment as `env NAME=value`."""
    if command.display:
        return command.display
    if command.env and not any(isinstance(bit, Op) for bit in command.bits):
        plain = replace(command, env=()).masked()
        return "env " + " ".join(f"{name}={quote(value)}" for name, value in command.env) + " " + plain
    return command.masked()


def as_typed(command: Command, login: Login | None = None) -> str:
    """A planned command as the operator types it in a login shell on the server (as `login`; unknown: not root),
    to run it by hand: `sudo` where it needs root, `sudo -u`/`runuser -u` for another account, and a line with
    shell syntax run whole (`sudo sh -c '...'`). A remark the plan adds stays after it as a shell comment."""
    login = login or Login("")
    text = _line(command)
    line, _sep, note = text.partition(NOTE)
    line = line.strip()
    if _ABRIDGED.search(line):
        return f"# {line}" + (f"  ({note.strip()})" if note else "")
    prefixed = typed(line, root=command.root, user=command.user, login=login)
    if prefixed != line and _compound(line):
        prefixed = typed(f"sh -c {quote(line)}", root=command.root, user=command.user, login=login)
    return noted(prefixed, note.strip()) if note else prefixed


def runnable(line: str) -> bool:
    """The line runs when pasted (not a comment standing for an abridged command)."""
    return not line.startswith("#")


def change_lines(change: Change, login: Login | None = None) -> list[str]:
    """One planned change as plans show it: the command as typed (`$ ...`), or what a file write or a check by
    the run does in words, with the command that validates a file after it."""
    if isinstance(change, RunCommand):
        line = as_typed(change.command, login)
        return [f"$ {line}" if runnable(line) else line]
    if isinstance(change, PutFile) and change.check is not None:
        check = as_typed(change.check, login)
        return [replace(change, check=None).describe(), f"$ {check}" if runnable(check) else check]
    return [change.describe()]


def change_line(change: Change, login: Login | None = None) -> str:
    """One planned change on one line (a dialog's heading)."""
    return "; ".join(change_lines(change, login))


def where(login: Login, local: bool) -> str:
    """Where a lesson's commands run, to head them."""
    if local:
        return _("On your own machine:")
    if login.user:
        return _("On the server ({ssh}), as {user}:").format(ssh=login.ssh(), user=login.user)
    return _("On the server ({ssh}):").format(ssh=login.ssh())


class Teacher:
    """The lessons of one recipe (or draft): the placeholder values of all its steps, filled into any step's text."""

    def __init__(self, selected: Iterable[tuple[Step, StepSettings]], ctx: Context, login: Login) -> None:
        self.selected = list(selected)
        self.ctx, self.login = ctx, login
        self.values = self._values()

    @classmethod
    def for_recipe(cls, recipe: Recipe, login_user: str | None = None, host: str | None = None) -> Teacher:
        """`login_user`: who the connection logged in as, when known (else the recipe's target.user); `host`: the
        server when it is not the recipe's target.host (--host)."""
        target = recipe.target
        login = Login(host or target.host, target.port, login_user or target.user, target.key)
        return cls(recipe.selected(), recipe.context(), login)

    @classmethod
    def for_draft(cls, draft: Draft) -> Teacher:
        """The answers so far: a valid recipe's names, else whatever the half-typed answers already say."""
        from wizard.app.recipefile import RecipeError

        try:
            return cls.for_recipe(draft.recipe(across=False))
        except RecipeError:
            pass
        selected = [(step, _loose(step, draft.values(step.name))) for step in registry.steps()
                    if step.name in draft.enabled]
        user = str(draft.values("deploy_user").get("name") or "deploy") if "deploy_user" in draft.enabled else "deploy"
        port = _int(draft.target.get("port"), 22)
        ctx = Context(app=draft.name, user=user, ssh_port=port, others={s.name: v for s, v in selected},
                      steps={s.name: s for s, _v in selected})
        login = Login(str(draft.target.get("host") or "HOST"), port, draft.target.get("user") or None,
                      draft.target.get("key") or None)
        return cls(selected, ctx, login)

    def _values(self) -> dict[str, str]:
        ctx, login = self.ctx, self.login
        values = {"APP": ctx.app, "USER": ctx.user, "HOST": login.host, "SSH_PORT": str(ctx.ssh_port),
                  "SSH_LOGIN": login.ssh(), "DOMAIN": login.host}
        for step, settings in self.selected:
            try:
                values.update(step.teaching_values(settings, ctx))
            except (PlanError, AttributeError, TypeError, ValueError, KeyError, IndexError):
                continue  # a half-typed draft: this step's names are not known yet, the defaults stay
        return values

    def settings(self, step: Step) -> StepSettings:
        """The step's settings in this recipe, or its defaults (a step screen shows steps not included yet)."""
        return next((s for chosen, s in self.selected if chosen.name == step.name), None) or _loose(step, {})

    def lesson(self, step: Step) -> Lesson:
        """The step's teaching in the current language, with this recipe's names and privileges."""
        teaching = step.lesson()
        settings = self.settings(step)
        checks = [self.check(step.name, c) for c in teaching.checks() if c.applies(settings)]
        return Lesson(step.name, step.label(), fill(teaching.why, self.values), checks,
                      [(fill(symptom, self.values), fill(fix, self.values)) for symptom, fix in teaching.troubleshoot])

    def check(self, step: str, check: Check) -> ShownCheck:
        text = fill(check.command, self.values)
        user = fill(check.user, self.values) if check.user else None
        shown = text if check.local else typed(text, root=check.root, user=user, login=self.login)
        return ShownCheck(step, text, shown, check.root, user, check.local, fill(check.note, self.values))

    def lessons(self) -> list[Lesson]:
        return [self.lesson(step) for step, _settings in self.selected]

    def where(self, local: bool = False) -> str:
        return where(self.login, local)


def groups(lesson: Lesson) -> list[tuple[bool, list[ShownCheck]]]:
    """A lesson's checks by where they run: (local, checks), the server's first; empty groups left out."""
    found = [(local, [c for c in lesson.checks if c.local is local]) for local in (False, True)]
    return [(local, checks) for local, checks in found if checks]


def command_line(check: ShownCheck) -> str:
    """A check as it is typed, its note after it as a shell comment (so the line can be pasted as it is)."""
    return check.typed + (f"  # {check.note}" if check.note else "")


def verify_lines(lesson: Lesson, login: Login, *, prompt: str = "$ ", indent: str = "  ") -> list[str]:
    """A lesson's checks as text: where they run (the server as whom, or your own machine), then the commands."""
    lines: list[str] = []
    for local, checks in groups(lesson):
        lines.append(where(login, local))
        lines += [f"{indent}{prompt}{command_line(check)}" for check in checks]
    return lines


def _loose(step: Step, raw: Mapping[str, Any]) -> StepSettings:
    """Settings from answers that may not validate yet: the known fields as typed, defaults for the rest."""
    fields = step.Settings.model_fields
    return step.Settings.model_construct(**{k: v for k, v in raw.items() if k in fields})


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


__all__ = ["BASE_PLACEHOLDERS", "Lesson", "Login", "ShownCheck", "Teacher", "as_typed", "change_line",
           "change_lines", "command_line", "runnable", "fill", "groups", "typed", "verify_lines", "where"]
