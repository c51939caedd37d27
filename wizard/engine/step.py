"""What a recipe step is: settings, the facts it reads, and the changes it still needs.

Why plan() is a pure function of (settings, facts): the same code gives the dry-run plan, the idempotent
apply (re-planned right before executing), the drift check, and data-driven unit tests that feed fact sets
of Debian and Ubuntu hosts without any server.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict

from wizard.engine.commands import Command, Secret
from wizard.engine.errors import DeployWizardError
from wizard.engine.facts import Fact, FactValues, FileInfo, FileState
from wizard.engine.i18n import _, n_, text_of
from wizard.engine.validators import PlainTextModel

if TYPE_CHECKING:
    from wizard.engine.meaning import Meaning


class PlanError(DeployWizardError):
    """The host cannot reach the wanted state as asked (e.g. an unknown time zone); said before any change."""


class StepSettings(PlainTextModel):
    """Base of every step's settings: unknown keys are an error, not silently ignored, and no text value holds a
    line break or another control character unless its field opts in (see PlainTextModel)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


@dataclass
class Change:
    """Something the step still has to do. `why` is one line for people (plans, journals, teaching)."""

    why: str
    # For exports (shell, Ansible), which cannot re-run the fact-driven plan: a test that succeeds when this
    # change is already in place, so a replay skips it and a second replay changes nothing.
    skip_if: Command | None = field(default=None, kw_only=True)
    # Only needed because an earlier change of the same step happened (a reload after a config write).
    after_change: bool = field(default=False, kw_only=True)
    # The facts this change will make true, with their values after it (a directory it creates, a package it
    # installs). Why: a dry run of a whole recipe on a fresh server plans each later step from the state the
    # earlier ones will leave, not from the bare server (see FactGatherer.expect).
    leaves: tuple[tuple[Fact, Any], ...] = field(default=(), kw_only=True, compare=False, repr=False)

    def describe(self) -> str:
        raise NotImplementedError


@dataclass
class RunCommand(Change):
    command: Command
    ok_codes: tuple[int, ...] = (0,)
    timeout: float | None = None
    # an install its step allows to run behind the steps before it (wizard.engine.behind): nothing it starts is
    # reachable from outside before its step configures it; or a settings file such an install needs first
    early: bool = field(default=False, kw_only=True, compare=False)
    # for an early install: what may run ahead of it, beside another install, so that it takes less time when it
    # runs (its packages' download, wizard.engine.behind); changes nothing the install would not change itself
    fetch: Command | None = field(default=None, kw_only=True, compare=False)

    def describe(self) -> str:
        return self.command.summary()


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class PutFile(Change):
    path: str
    content: bytes
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    old: FileState | None = None
    secret: bool = False  # content holds a secret: never shown, diffed or journaled
    check: Command | None = None  # validate after writing (nginx -t, sshd -t); on failure the old file returns
    source: Secret | None = None  # the content as text and secrets, when it holds any (exports rebuild it)

    def describe(self) -> str:
        size = n_("{n} byte", "{n} bytes", len(self.content)).format(n=len(self.content))
        text = _("write {path} (mode {mode}, {owner}:{group}, {size})").format(
            path=self.path, mode=self.mode, owner=self.owner, group=self.group, size=size)
        return text + (_(", then check: {command}").format(command=self.check.summary()) if self.check else "")

    def diff(self) -> str:
        old = self.old.text() if self.old and self.old.content is not None else ""
        new = self.content.decode("utf-8", "replace")
        if self.secret:
            known = self.path.endswith(".env") and self.old is not None and self.old.content is not None
            names = changed_names(old, new) if known else []  # only of files of NAME=value lines, as ours are
            if names:
                return _("(contents of {path} hidden: it holds a secret; the lines that change set {names})").format(
                    path=self.path, names=", ".join(names))
            return _("(contents of {path} hidden: it holds a secret)").format(path=self.path)
        lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=_("{path} (now)").format(path=self.path) if self.old else "/dev/null",
                                     tofile=_("{path} (planned)").format(path=self.path))
        return "".join(lines)


def changed_names(old: str, new: str) -> list[str]:
    """The names an environment file's changed lines set (NAME=value), never a value: what an operator may see
    of a diff that holds secrets, old ones included, which the masker may no longer know. Empty when a changed
    line is not of that shape."""
    def lines(text: str) -> dict[str, str]:  # a line without "=" never reads as a name
        return {line.partition("=")[0] if "=" in line else f"\0{line}": line for line in text.splitlines()
                if line.strip()}

    before, after = lines(old), lines(new)
    names = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    return names if all(NAME.fullmatch(name) for name in names) else []


@dataclass
class Later(Change):
    """A change a dry run cannot decide yet: it depends on what an earlier change brings (the requirements of a
    release not cloned yet). Plans list it with the reason; apply plans the step again once that change ran."""
    reason: str
    choices: tuple[tuple[Command, str, tuple[Change, ...]], ...] = ()  # by hand, per case: the runbook's if/elif

    def describe(self) -> str:
        return self.reason


@dataclass
class WaitForOperator(Change):
    """Something only a person can do (add a deploy key to the git host); the run pauses until they confirm."""
    message: str

    def describe(self) -> str:
        return self.message


@dataclass
class ProveLogin(Change):
    """A NEW SSH connection (optionally as another user) runs `true`: proof before a risky change (disabling
    password logins) or right after one (enabling the firewall), while a revert is still armed."""
    user: str | None = None
    # what the operator must know when the proof fails (an armed revert and when it fires), said with the error
    if_failed: str = field(default="", kw_only=True, compare=False)

    def describe(self) -> str:
        if self.user:
            return _("prove a fresh SSH login as {user} works").format(user=self.user)
        return _("prove a fresh SSH login works")


@dataclass
class Ok:
    """A check that passed: the reason a step has nothing to do (shown as its no-op reason)."""
    reason: str


@dataclass
class Warn:
    """Something the plan found that the step cannot fix on the server, with the fix for the operator (the app's
    settings disagree with the recipe). Shown in plans and before a run's changes; it changes nothing."""

    text: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    """A command a person runs by hand to check a step's result, written with the placeholders that
    wizard.app.teach fills in from the recipe (APP, USER, DOMAIN, ...; see PLACEHOLDERS there).

    Why flags and not `sudo` typed into the text: whether a command needs `sudo` depends on who logs in (root
    needs none), and the same flags let the wizard run the check itself, through a transport that arranges
    privileges exactly as for every other command. A pipeline runs with the privileges of its first command.
    """

    command: str
    root: bool = False  # needs root: shown with sudo unless the login user is root
    user: str | None = None  # run as this account instead: USER (the app's account), postgres, www-data...
    local: bool = False  # run on your own machine (ssh, your project), not on the server
    note: str = ""  # message id: what the command shows, when the command alone does not say it
    # only for these values of the step's settings (engine: mariadb); a tuple value allows any of its items
    when: Mapping[str, object] = field(default_factory=dict, hash=False)

    def applies(self, settings: object) -> bool:
        for name, wanted in self.when.items():
            value = getattr(settings, name, None)
            if value not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                return False
        return True


@dataclass
class Teaching:
    """What the wizard tells a learner about a step (message ids, translated by wizard.engine.i18n)."""

    why: str
    verify: Sequence[Check | str] = field(default_factory=list)  # commands to run by hand to check the result
    troubleshoot: list[tuple[str, str]] = field(default_factory=list)  # (symptom, fix)
    goal: str = ""  # the step's result in one plain sentence (`deploy-wizard learn` states it as the task)
    section: str = ""  # the tutorial's section this step carries out (seed/), e.g. "4.1 Web server configuration"

    def checks(self) -> list[Check]:
        """The verify commands as Checks (a plain string is a command any user may run on the server)."""
        return [item if isinstance(item, Check) else Check(item) for item in self.verify]


@dataclass(frozen=True)
class Context:
    """What a step may know beyond its own settings: the app, its user, the connection, the other steps.

    The paths here are the one server layout every step agrees on (/srv/<app>/releases, current, venv,
    shared/...): code outside /home, so nginx never meets the 403-from-a-home-directory trap.
    """

    app: str = "app"
    user: str = "deploy"
    ssh_port: int = 22
    login_user: str | None = None  # who the recipe logs in as, once connected (None before)
    others: Mapping[str, StepSettings] = field(default_factory=dict)
    steps: Mapping[str, Step] = field(default_factory=dict)  # the step objects of `others`, for peer()
    secrets: Callable[[str, str], Secret] | None = None  # (reference, label) -> resolved value
    # an apply, not a plan or check: a fact may then keep a record of what it read on the server (os_updates' upgrade
    # simulation), which plan and check only read, so that they write nothing
    applying: bool = False
    # each change waits for a decision before it runs (the operator's, stepping through; `record`'s guard check): a
    # step then lists first what it would otherwise run at once, unlisted (os_updates' upgrade after a refresh)
    step_through: bool = False

    def settings(self, step: str) -> StepSettings | None:
        return self.others.get(step)

    def peer(self, step: str) -> tuple[Step, StepSettings] | None:
        """Another step of the recipe with its settings. Why not an import: steps never import each other, so
        a step package of your own can stand in for a built-in one; what a peer offers is a Protocol in
        recipes.shared (e.g. the site the tls step re-renders) checked with isinstance."""
        settings = self.others.get(step)
        found = self.steps.get(step)
        return (found, settings) if found is not None and settings is not None else None

    def secret(self, ref: str, label: str) -> Secret:
        if self.secrets is None:
            raise PlanError(_("{label} needs a secret ({ref}) but none can be resolved here").format(
                label=label, ref=ref))
        return self.secrets(ref, label)

    @property
    def base(self) -> str:
        return f"/srv/{self.app}"

    @property
    def releases(self) -> str:
        return f"{self.base}/releases"

    @property
    def current(self) -> str:
        return f"{self.base}/current"

    @property
    def venv(self) -> str:
        return f"{self.base}/venv"

    @property
    def shared(self) -> str:
        return f"{self.base}/shared"

    @property
    def home(self) -> str:
        """HOME for the app user's deploy work (git, pip caches): its own, inside the root-owned base."""
        return f"{self.shared}/home"

    @property
    def env_dir(self) -> str:
        return f"{self.shared}/env"

    @property
    def state_dir(self) -> str:
        return f"{self.shared}/state"

    @property
    def socket(self) -> str:
        return f"/run/{self.app}/gunicorn.sock"

    @property
    def maintenance_dir(self) -> str:
        """Root's: the page nginx shows in maintenance mode (index.html) and the switch that turns it on (`on`).
        Outside /srv/APP, where the app user could not plant or remove either."""
        return f"/var/lib/deploy-wizard/maintenance/{self.app}"


class Step(ABC):
    """One part of a server. Found through the `deploy_wizard.steps` entry points (see wizard.app.registry)."""

    name: ClassVar[str]  # the key under `steps:` in the recipe file (and the entry point's name)
    order: ClassVar[int]  # where it runs: built-in steps use 100, 200, ... 1100 (the tutorial's order)
    title: ClassVar[str]  # message id
    Settings: ClassVar[type[StepSettings]]
    teaching: ClassVar[Teaching]
    # part of a release (fetch, release, migrations, switch, health): what `deploy-wizard deploy --ref` runs, the
    # other steps only being read as the context of these (a CI job ships code, it does not re-provision)
    release_part: ClassVar[bool] = False

    def tr(self, message: str) -> str:
        """A text of this step (its title, teaching, field labels) in the current language, from the catalog
        beside the step's module."""
        return text_of(self)(message)

    def label(self) -> str:
        return self.tr(self.title)

    def lesson(self) -> Teaching:
        """The teaching text in the current language (verify commands stay as they are typed, their notes are
        translated). Placeholders are left in: wizard.app.teach fills them in from a recipe."""
        t = self.teaching
        checks = [replace(c, note=self.tr(c.note)) if c.note else c for c in t.checks()]
        return Teaching(why=self.tr(t.why), verify=checks,
                        troubleshoot=[(self.tr(symptom), self.tr(fix)) for symptom, fix in t.troubleshoot],
                        goal=self.tr(t.goal) if t.goal else "", section=self.tr(t.section) if t.section else "")

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        """What this step's placeholders in teaching text stand for with these settings (DOMAIN from the nginx
        step, DB_NAME from the database step...). Every step of a recipe sees all of them, later steps winning,
        so the tls step's domain replaces nginx's first name. Keys are upper-case words (A-Z, 0-9, _)."""
        return {}

    def facts(self, settings: StepSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        """Facts needed to plan. Called again with what is known until nothing new is asked."""
        return ()

    @abstractmethod
    def plan(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]: ...

    def verify(self, settings: StepSettings, ctx: Context) -> list[RunCommand]:
        """Checks run after the step changed something (a health check); a failing one fails the step."""
        return []

    def refresh(self, settings: StepSettings, ctx: Context) -> Iterable[Fact]:
        """Facts a whole apply reads once more at its end when a later step changed packages: facts that keep a
        record of their answer on the server (os_updates' upgrade simulation), which those packages made stale.
        Read then, the next run finds the record current and skips the work: the cost moves from every first
        re-apply to the end of the apply that made it stale."""
        return ()

    def meanings(self, settings: StepSettings, ctx: Context) -> Sequence[Meaning]:
        """What must hold for this step's purpose however it was reached (wizard.engine.meaning), for grading a
        learner's work by hand. None: every planned change still counts as missing."""
        return ()


def file_change(why: str, path: str, content: str | bytes | Secret, old: FileState | None, *, mode: str = "0644",
                owner: str = "root", group: str = "root", check: Command | None = None) -> Iterator[Change | Ok]:
    """Yield a PutFile when content or metadata differ, else an Ok: the hash comparison every step shares.

    Content given as a Secret (Secret.join of text and secrets) is never shown, and exports rebuild it from
    their own environment. `check` validates the written file on the server (nginx -t, sshd -t...); a failing
    check puts the old file back.
    """
    source = content if isinstance(content, Secret) else None
    if source is not None:
        content = source.reveal()
    data = content.encode() if isinstance(content, str) else content
    leaves = file_leaves(path, data, mode=mode, owner=owner, group=group)
    wanted = leaves[0][1]  # the file as it must read: the comparison and what the write leaves are one value
    if old is not None and (old.sha256, old.mode, old.owner, old.group) == (wanted.sha256, wanted.mode,
                                                                          wanted.owner, wanted.group):
        yield Ok(_("{path} is up to date").format(path=path))
        return
    yield PutFile(why, path, data, mode=mode, owner=owner, group=group, old=old, secret=source is not None,
                  check=check, source=source, leaves=leaves)


def file_leaves(path: str, content: bytes, *, mode: str = "0644", owner: str = "root",
                group: str = "root") -> tuple[tuple[Fact, FileState], ...]:
    """What writing a file leaves, as its FileInfo fact will read (for a dry run's later steps)."""
    state = FileState(hashlib.sha256(content).hexdigest(), mode.lstrip("0") or "0", owner, group, len(content),
                      content)
    return ((FileInfo(path), state),)
