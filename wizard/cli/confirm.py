"""Asking before a command changes a server (apply, rollback, a recorded export), the same way for all of them.

Why one helper: the rule is the same everywhere and easy to get subtly wrong in one place. --yes skips the
question; a terminal gets a yes/no question whose default is no; with neither (CI, a pipe, cron) the command
refuses before it touches anything, with a message naming --yes and exit code 2, instead of hanging on
input() or reading an empty answer as consent.
"""

from __future__ import annotations

import sys

from wizard.engine.errors import UsageError


def interactive() -> bool:
    """Whether a person can answer: both ends are a terminal (a pipe on either side means a script)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask(question: str) -> bool:
    """One yes/no question on the terminal; anything but y or yes is no."""
    return input(question).strip().lower() in ("y", "yes")


def must_ask(yes: bool, refusal: str) -> bool:
    """Whether to ask before changing anything: False with --yes; UsageError(refusal) when nobody can answer.

    Separate from `confirm` for apply, which checks this before its plan and asks only after it (with the
    number of changes found).
    """
    if yes:
        return False
    if not interactive():
        raise UsageError(refusal)
    return True


def confirm(question: str, *, yes: bool, refusal: str) -> bool:
    """True when the command may go ahead: --yes, or the operator said yes to `question`."""
    return not must_ask(yes, refusal) or ask(question)


__all__ = ["ask", "confirm", "interactive", "must_ask"]
