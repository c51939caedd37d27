"""Glue between a recipe and a live run: secrets, the transport, the runner, the journal.

Why one place: the CLI, the TUI and the tests all start runs; they differ only in how they ask questions
(a terminal prompt, a modal, nothing at all), which they pass in as callbacks.
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace

from pydantic import BaseModel

from wizard.app.deploylock import deploy_lock
from wizard.app.goals import resolve_intent
from wizard.app.pins import HostPins
from wizard.app.recipefile import Recipe
from wizard.engine.commands import Masker
from wizard.engine.events import Notice, NoticeLevel, RunMode, Sink, fan_out
from wizard.engine.i18n import _, text_of
from wizard.engine.options import FieldSpec, field_specs
from wizard.engine.runner import AskOperator, BeforeChange, OnFailure, Runner, RunResult
from wizard.engine.secrets import Prompt, SecretResolver, read_notice
from wizard.engine.sinks import JournalSink, unfinished_run
from wizard.engine.step import Context
from wizard.engine.transports.base import PasswordCallback, Transport
from wizard.engine.transports.keys import PassphraseCallback, PrivateKeys
from wizard.engine.transports.ssh import SSHTarget, SSHTransport, TrustCallback


@dataclass
class Questions:
    """How this front end asks the operator; None = cannot ask (unattended)."""

    trust_host_key: TrustCallback | None = None
    sudo_password: PasswordCallback | None = None
    secret: Prompt | None = None
    operator: AskOperator | None = None
    on_failure: OnFailure | None = None  # retry / skip / abort; None = stop at the first failure
    key_passphrase: PassphraseCallback | None = None  # for a target.key protected by a passphrase
    # where a host key the operator trusts is pinned, and other hosts' pins are found (wizard.app.pins): with the
    # answers, because trusting a key and keeping it for the next run are one decision
    pins: HostPins = field(default_factory=HostPins)
    _keys: PrivateKeys | None = field(default=None, repr=False, compare=False)
    # the sudo password typed for each login (user@host:port), for the next connection these questions serve
    sudo_memory: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def private_keys(self) -> PrivateKeys:
        """The loader of target.key for every connection these questions serve (plan then apply, the hosts of
        a fleet, a recording and its checks), so a passphrase is asked once, not once per connection."""
        if self._keys is None:
            self._keys = PrivateKeys(self.key_passphrase)
        return self._keys

    def sudo_for(self, login: str) -> PasswordCallback | None:
        """The sudo question of one connection: the password typed for the same login earlier (the plan before an
        apply, or a connection before), then the operator. Why: apply plans on one connection and runs on
        another, and each would ask again; a password sudo refuses is asked again, as before."""
        ask = self.sudo_password
        if ask is None:
            return None
        offered = False

        async def remembered(prompt: str) -> str | None:
            nonlocal offered
            if not offered and login in self.sudo_memory:
                offered = True
                return self.sudo_memory[login]
            offered = True
            answer = await ask(prompt)
            if answer is not None:
                self.sudo_memory[login] = answer
            return answer

        return remembered


@dataclass(frozen=True)
class SecretQuestion:
    """One secret the recipe wants asked (`prompt`), as a front end asks it before a plan or a run."""

    label: str  # `section.field` (`.KEY` for a map entry): how steps name it when they ask (Context.secret)
    title: str  # in the current language
    text: str  # what it is for and where it goes
    new: bool = False  # a password the run sets: typed twice


def secret_refs(recipe: Recipe, steps: Collection[str] | None = None) -> list[tuple[str, str, FieldSpec, BaseModel]]:
    """Every secret reference of the recipe as (label, reference, its field, its settings), in the order the run
    needs them (the target, then each selected step, a plugin step's included), found by type (the fields that
    hold secret references). The label is the one steps ask with (Context.secret): `section.field`, `.KEY` for a
    map entry. `steps`: only those steps' secrets (and the target's), for a run of only those (deploy)."""
    sections: list[tuple[str, BaseModel]] = [("target", recipe.target)]
    sections += [(step.name, settings) for step, settings in recipe.selected() if steps is None or step.name in steps]
    found = []
    for section, settings in sections:
        for spec in field_specs(type(settings)):
            value = getattr(settings, spec.name) if spec.secret else None
            if isinstance(value, str):
                found.append((f"{section}.{spec.name}", value, spec, settings))
            elif isinstance(value, dict):
                found += [(f"{section}.{spec.name}.{key}", ref, spec, settings) for key, ref in value.items()]
            elif isinstance(value, list):
                found += [(f"{section}.{spec.name}.{index}", ref, spec, settings) for index, ref in enumerate(value)]
    return found


def secret_questions(recipe: Recipe) -> list[SecretQuestion]:
    """Every secret of the recipe set to `prompt`, in the order the run needs them.

    Why all of them up front: a plan reads a secret only when a step asks, in the middle of a connection; the
    TUI cannot stop there for a dialog, and an operator should not meet them one by one.
    """
    return [_question(recipe, label, spec, settings) for label, ref, spec, settings in secret_refs(recipe)
            if ref == "prompt"]


def resolve_all(recipe: Recipe, resolver: SecretResolver, steps: Collection[str] | None = None) -> None:
    """Read every secret of the recipe now (SecretError, exit 2, for the first one that cannot be read).

    Why before an apply connects: a secret read only when its step plans (the database password, once
    PostgreSQL is installed) would stop the run half-way, after the steps before it changed the server; read
    first, a missing one stops it before anything changed. A plan alone reads only what its steps ask for."""
    for label, ref, _spec, _settings in secret_refs(recipe, steps):
        resolver.resolve(ref, label)


def _question(recipe: Recipe, label: str, spec: FieldSpec, settings: BaseModel) -> SecretQuestion:
    """The dialog of one secret: the words its step declares (validators.Prompted), else its label and field;
    typed twice only when the run sets it with these settings."""
    if spec.prompted is None:
        return SecretQuestion(label, _("Secret {label}").format(label=label), spec.text() + "\n\n" + _(
            "Kept in memory for the plan and the run only; never written anywhere."))
    tr = text_of(spec.model) if spec.model is not None else _
    # no user in the recipe: ssh's own default, this machine's user name (unless ~/.ssh/config says otherwise)
    login = {"user": recipe.target.user or getpass.getuser(), "host": recipe.target.host}
    return SecretQuestion(label, tr(spec.prompted.title).format(**login), tr(spec.prompted.text).format(**login),
                          spec.prompted.is_new(settings))


def _told(emit: Sink) -> Callable[[str, str], None]:
    """How the operator is told which secret was read from where (never its value)."""
    return lambda label, source: emit(Notice(step=label.partition(".")[0], text=read_notice(label, source),
                                                  level=NoticeLevel.NOTE))


def make_transport(recipe: Recipe, questions: Questions, masker: Masker, host: str | None = None,
                   resolver: SecretResolver | None = None) -> Transport:
    """The SSH connection to `host` (the recipe's target when None), its host key checked against the recipe's
    pins (the target's own, and those of `questions.pins`: the inventory's and the file beside the recipe)."""
    target = recipe.target
    pins = questions.pins
    name = host or target.host
    password_cb, attempts = questions.sudo_for(f"{target.user or ''}@{name}:{target.port}"), 3
    if target.sudo_password:
        resolver = resolver or SecretResolver(questions.secret, masker=masker)
        ref = target.sudo_password

        async def from_recipe(prompt: str) -> str | None:
            return resolver.resolve(ref, "target.sudo_password").reveal()

        password_cb, attempts = from_recipe, 1
    ssh_target = SSHTarget(host=name, port=target.port, user=target.user, key=target.key,
                           host_key=pins.pinned(name, target.host, target.host_key),
                           pin_place=pins.place(name, target.host))
    return SSHTransport(ssh_target, trust_callback=questions.trust_host_key, password_callback=password_cb,
                        masker=masker, password_attempts=attempts, keys=questions.private_keys(), store=pins.store())


async def run_recipe(recipe: Recipe, mode: RunMode | str, sink: Sink, questions: Questions, *, host: str | None = None,
                     journal: bool = True, before_change: BeforeChange | None = None,
                     transport_factory: Callable[[], Transport] | None = None,
                     resume: bool = False, lock_wait: int = 0, secrets_first: bool | None = None,
                     steps: Collection[str] | None = None,
                     preflight: Callable[[Transport, Context], Awaitable[None]] | None = None,
                     on_resolved: Callable[[Recipe], None] | None = None) -> RunResult:
    """Connect, plan or apply every step of the recipe, and close; the journal records the whole run. An apply
    holds the app's deploy lock on the server (wizard/app/deploylock.py), waiting up to `lock_wait` seconds.

    An apply reads every secret of the recipe before it connects (resolve_all); so does a plan with
    `secrets_first` (the plan an apply shows before asking). Any other plan or check reads only what a step's
    plan asks for (Context.secret) or sudo asks for (target.sudo_password). A secret that cannot be read is bad
    input (SecretError, exit 2), never a failed step.

    `steps`: run only these of the recipe's steps (the others are still the context they read: the site's name,
    TLS); `preflight`: a question to the server once connected, before anything runs (it raises to refuse).
    Intent steps (the goals) are resolved on the server first (wizard/app/goals.py); `on_resolved` receives the
    recipe with their values, to save them."""
    masker = Masker()
    mode = RunMode(mode)  # an unknown mode is a bug: ValueError
    resolver = SecretResolver(questions.secret, masker=masker)
    transport = (transport_factory() if transport_factory
                 else make_transport(recipe, questions, masker, host, resolver=resolver))
    resumed = unfinished_run(recipe.name, host or recipe.target.host) if resume else None
    host_name = host or recipe.target.host
    resolver.on_read = _told(sink)
    if mode is RunMode.APPLY if secrets_first is None else secrets_first:
        resolve_all(recipe, resolver, steps)  # before the journal: a run that cannot start leaves no record of a run
    journal_sink = JournalSink(recipe.name, host_name) if journal and mode is RunMode.APPLY else None
    emit = fan_out(sink, journal_sink)
    resolver.on_read = _told(emit)
    try:
        await transport.connect()
        for text in transport.warnings():
            emit(Notice(step="", text=text))
        ctx = replace(recipe.context(resolver.resolve), login_user=transport.login_user)
        recipe = await resolve_intent(recipe, transport, ctx)  # the goals' defaults for this server's size
        ctx = replace(recipe.context(resolver.resolve), login_user=transport.login_user)
        if on_resolved is not None:
            on_resolved(recipe)
        if preflight is not None:
            await preflight(transport, ctx)
        chosen = [(step, settings) for step, settings in recipe.selected() if steps is None or step.name in steps]
        ctx = replace(ctx, applying=mode is RunMode.APPLY, step_through=before_change is not None)
        runner = Runner(transport, chosen, emit, before_change=before_change,
                        journal=str(journal_sink.path) if journal_sink else None, ctx=ctx,
                        ask_operator=questions.operator, on_failure=questions.on_failure,
                        resume=resumed)
        if mode is not RunMode.APPLY:
            return await runner.plan(mode)
        async with deploy_lock(transport, recipe.name, wait=lock_wait,
                               say=lambda text: emit(Notice(step="", text=text, level=NoticeLevel.NOTE))) as tag:
            runner.command_env = (tag,)
            return await runner.apply()
    finally:
        await transport.close()
        if journal_sink:
            journal_sink.close()
