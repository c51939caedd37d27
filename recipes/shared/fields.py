"""Setting types that more than one step uses, so that steps share them without importing each other."""

from __future__ import annotations

import re
import shlex
from typing import Annotated

from pydantic import AfterValidator

from wizard.engine.i18n import translator

_ = translator(__file__)

_RELPATH = re.compile(r"^(?![/-])(?!.*\.\.)[A-Za-z0-9._/\-]{1,200}$")


def relative_path(value: str) -> str:
    if not _RELPATH.match(value):
        raise ValueError(_("'{v}' must be a path inside the repository, like requirements.txt").format(v=value))
    return value


def command_line(value: str) -> str:
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValueError(_("cannot split '{v}' into words: {why}").format(v=value, why=exc)) from None
    if not words or any(ch in value for ch in "\n\r\0;&|`$<>"):
        raise ValueError(_("a command here is plain words (no ; & | ` $ < > or new lines): '{v}'").format(v=value))
    return value


def command_chain(value: str) -> str:
    """Plain commands joined by `&&` (npm ci && npm run build): each one plain words, as command_line says.

    Why `&&` and nothing else: a build is usually two commands where the second needs the first, and `&&` is
    the one piece of shell syntax whose meaning needs no shell. Each command stays a list of words, run as
    arguments (recipes.shared.common.once_per_release); the text is never handed to a shell.
    """
    parts = re.split(r"\s*&&\s*", value.strip())
    if any(not part for part in parts):
        raise ValueError(_("'{v}' has an empty command around &&").format(v=value))
    for part in parts:
        command_line(part)
    return value


RelativePath = Annotated[str, AfterValidator(relative_path)]
CommandLine = Annotated[str, AfterValidator(command_line)]
CommandChain = Annotated[str, AfterValidator(command_chain)]
