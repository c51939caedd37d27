"""What every command handler needs: where messages go, the recipe with its --set overrides, the questions.

Why here and not in each handler: a missing secret, a new host key or a sudo password is asked the same way
by plan, apply, check, rollback and export, and a recipe file is read and overridden the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from wizard.cli.confirm import ask, interactive
from wizard.engine.i18n import _

if TYPE_CHECKING:  # the handlers import the application lazily, so `--help` stays fast
    from wizard.app.pins import HostPins
    from wizard.app.recipefile import Recipe
    from wizard.app.session import Questions, SecretQuestion
    from wizard.engine.transports.ssh import TrustCallback


def err(message: str) -> None:
    """Say something to the operator on stderr, so stdout stays the command's output (JSON, a script)."""
    print(message, file=sys.stderr, flush=True)


def load_recipe(args: argparse.Namespace) -> Recipe:
    """The recipe file with the command line's --set overrides; RecipeError (exit 2) when it cannot be used."""
    from wizard.app.recipefile import load, setting_value, with_overrides

    resets = getattr(args, "reset", [])
    recipe = with_overrides(load(args.file), getattr(args, "set", []), resets)
    for path in resets:  # said, because a default may mean less safety (no pinned key, the production CA)
        value = setting_value(recipe, path)
        shown = _("empty") if value in (None, [], {}) else ", ".join(map(str, value)) if isinstance(
            value, list) else str(value)
        err(_("--reset {path}: back to its default for this run: {value}").format(path=path, value=shown))
    return recipe


def questions(args: argparse.Namespace, recipe: Recipe | None = None,
              inventory: Mapping[str, str] | None = None, *, headless: bool = False) -> Questions:
    """How a run asks the operator: on the terminal, or (no terminal, or --json) not at all, which refuses.

    With the recipe, a `prompt` secret is asked in its step's own words (the TUI dialog's), once per command
    (apply's plan and its run share the answer), and twice when the run sets it (a new password). A host key
    the operator trusts is pinned in the known-hosts file beside the recipe (wizard.app.pins), which also holds
    the pins of earlier runs; `inventory` adds the inventory's pins. `headless` (deploy, for CI) never asks,
    even in a terminal: what it would ask is refused instead."""
    from wizard.app.pins import HostPins
    from wizard.app.session import Questions, secret_questions

    asking = interactive() and not args.json and not headless
    pins = HostPins.for_recipe(getattr(args, "file", None), inventory)

    trust = _trust(args, asking, pins)

    async def sudo_password(prompt: str) -> str | None:
        if not asking:
            return None
        return await asyncio.to_thread(getpass.getpass, prompt + ": ")

    async def key_passphrase(prompt: str) -> str | None:
        return await asyncio.to_thread(getpass.getpass, prompt + ": ")

    asked = {question.label: question for question in (secret_questions(recipe) if recipe else [])}
    answers: dict[str, str] = {}

    def secret(label: str) -> str | None:
        if not asking:
            return None
        if label not in answers:
            answers[label] = _ask_secret(label, asked.get(label))
        return answers[label]

    async def operator(step: str, message: str) -> bool:
        if not asking:
            return False
        err(f"\n[{step}] {message}")
        answer = await asyncio.to_thread(input, _("Press Enter when done (or type 'abort'): "))
        return answer.strip().lower() != "abort"

    return Questions(trust_host_key=trust, sudo_password=sudo_password, secret=secret, operator=operator,
                     key_passphrase=key_passphrase if asking else None, pins=pins)


def _trust(args: argparse.Namespace, asking: bool, pins: HostPins) -> TrustCallback:
    """Trust on first use, on the terminal (or --accept-new-host-key); a trusted key is pinned beside the recipe."""

    def pinned() -> None:
        if pins.file is not None:
            err(_("Pinned in {file}: keep it beside the recipe, so every run from anywhere checks this key.").format(
                file=pins.file))

    async def trust(host: str, port: int, fingerprint: str) -> bool:
        if args.accept_new_host_key:
            err(_("Trusting the new host key of {host}: {fp}").format(host=host, fp=fingerprint))
            pinned()
            return True
        if not asking:
            return False
        err(_("The server {host} (port {port}) is not known yet. Its host key fingerprint is:\n  {fp}\n"
              "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server.").format(
                  host=host, port=port, fp=fingerprint))
        trusted = await asyncio.to_thread(ask, _("Trust this key and continue? [y/N] "))
        if trusted:
            pinned()
        return trusted

    return trust


def _ask_secret(label: str, question: SecretQuestion | None) -> str:
    """One secret on the terminal, without echo: what it is for first, then its title as the prompt."""
    if question is None:
        return getpass.getpass(label + ": ")
    err(f"\n{question.text}\n({label})")
    while True:
        value = getpass.getpass(question.title + ": ")
        if not question.new or getpass.getpass(_("the same again") + ": ") == value:
            return value
        err(_("The two entries differ: type the password again."))


__all__ = ["err", "load_recipe", "questions"]
