"""argparse's own words in the operator's language, and help text that fits the terminal in any language.

Why: argparse writes "usage:", "options:", "show this help message and exit" and its error messages itself,
in English, whatever language the help texts around them are in; and it wraps with textwrap, which counts
characters (a Chinese character takes two cells) and breaks only at spaces (Chinese has none), so a Chinese
description ran past 80 columns. argparse asks gettext for its words through the names `_` and `ngettext` of its
own module (`from gettext import gettext as _, ngettext`); `install` points those at the catalog, and `Formatter`
wraps by cells, breaking Chinese between characters (wizard.engine.typeset).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len

from wizard.engine.i18n import _, n_
from wizard.engine.typeset import wrap


def argparse_words() -> dict[str, str]:
    """argparse's fixed messages (Python 3.11 to 3.13) that reach an operator, in the current language."""
    return {
        "usage: ": _("usage: ", context="argparse"),
        "positional arguments": _("positional arguments", context="argparse"),
        "options": _("options", context="argparse"),
        "show this help message and exit": _("show this help message and exit", context="argparse"),
        "%(prog)s: error: %(message)s\n": _("%(prog)s: error: %(message)s\n", context="argparse"),
        "argument %(argument_name)s: %(message)s": _("argument %(argument_name)s: %(message)s", context="argparse"),
        "unrecognized arguments: %s": _("unrecognized arguments: %s", context="argparse"),
        "the following arguments are required: %s": _("the following arguments are required: %s",
                                                       context="argparse"),
        "one of the arguments %s is required": _("one of the arguments %s is required", context="argparse"),
        "not allowed with argument %s": _("not allowed with argument %s", context="argparse"),
        "ignored explicit argument %r": _("ignored explicit argument %r", context="argparse"),
        "expected one argument": _("expected one argument", context="argparse"),
        "expected at most one argument": _("expected at most one argument", context="argparse"),
        "expected at least one argument": _("expected at least one argument", context="argparse"),
        "ambiguous option: %(option)s could match %(matches)s": _(
            "ambiguous option: %(option)s could match %(matches)s", context="argparse"),
        "invalid %(type)s value: %(value)r": _("invalid %(type)s value: %(value)r", context="argparse"),
        "invalid choice: %(value)r (choose from %(choices)s)": _(
            "invalid choice: %(value)r (choose from %(choices)s)", context="argparse"),
        "unexpected option string: %s": _("unexpected option string: %s", context="argparse"),
    }


def _gettext(message: str) -> str:
    return argparse_words().get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    if singular == "expected %s argument":
        return n_("expected %s argument", "expected %s arguments", n)
    return singular if n == 1 else plural


def install() -> None:
    """argparse says its words through the catalog from now on (idempotent; the language is read at each use)."""
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]


class Cells(str):
    """A string whose len() is the cells it takes: argparse lines up usage lines under its prefix by len()."""

    __slots__ = ()

    def __len__(self) -> int:
        return cell_len(str.__str__(self))


_HEADING = re.compile(r"^( *)(.*[^\x00-\x7f]):$", re.MULTILINE)  # a section heading that ends in Chinese


class Formatter(argparse.HelpFormatter):
    """Help wrapped by terminal cells, Chinese broken between characters, the usage prefix in the language, and
    a Chinese heading closed by a full-width colon (argparse adds ":")."""

    def format_help(self) -> str:
        return _HEADING.sub(lambda m: f"{m.group(1)}{m.group(2)}：", super().format_help())

    def _split_lines(self, text: str, width: int) -> list[str]:
        return [line for paragraph in text.splitlines() for line in (wrap(paragraph, width) or [""])]

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap(" ".join(text.split()), width - len(indent)))

    def _format_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                      groups: Iterable[Any], prefix: str | None) -> str:
        return super()._format_usage(usage, actions, groups, Cells(_gettext("usage: ")) if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help uses Formatter; its subcommands' parsers are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)


def sentences(*parts: str) -> str:
    """Sentences of a help text as one paragraph: ". " between them in English, "。" in Chinese."""
    return _(". ", context="between sentences").join(parts)


def described(*parts: str) -> str:
    """A command's --help description from its one-line help (lower case, no stop, as the command list shows
    it) and more sentences: a paragraph that starts with a capital and ends with a full stop ("。" in Chinese)."""
    text = sentences(*parts)
    text = text[:1].upper() + text[1:]
    stop = _(".", context="end of a sentence")
    return text if text.endswith((".", "。")) else text + stop


__all__ = ["Formatter", "Parser", "argparse_words", "described", "install", "sentences"]
