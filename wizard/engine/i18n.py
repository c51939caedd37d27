"""User-facing text in English and Simplified Chinese.

Why a JSON catalog keyed by the English text (gettext style without the .mo build step): the English
message is the id, so code stays readable, a missing translation falls back to English instead of crashing,
and a test can list every `_()` call that has no Chinese entry. The whole UI (CLI, TUI, plans, teaching
texts, exports) goes through `_()`.

Why one catalog per folder: a step keeps its own words beside its code (recipes/nginx/locale/zh_CN.json),
so its teaching text is found from the step itself and a step package of your own ships its translations.
`translator(__file__)` gives a module the `_` of its folder, which falls back to the engine's catalog.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Protocol

LANGUAGES = ("en", "zh_CN")
_current = "en"


def detect_language(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    explicit = env.get("DEPLOY_WIZARD_LANG")
    if explicit:
        return normalize(explicit)
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return normalize(value.split(":")[0])
    return "en"


def normalize(value: str) -> str:
    return "zh_CN" if value.lower().replace("-", "_").startswith("zh") else "en"


def set_language(lang: str) -> None:
    global _current
    _current = normalize(lang)


def language() -> str:
    return _current


ENGINE_LOCALE = Path(__file__).with_name("locale")


@cache
def folder_catalog(locale_dir: Path, lang: str) -> dict[str, str]:
    """The catalog in `locale_dir/<lang>.json` ({} when there is none: English stays)."""
    path = locale_dir / f"{lang}.json"
    if not path.exists():
        return {}
    import json  # here: an English start never reads a catalog, and json is 2 ms of the wizard's first paint

    return json.loads(path.read_text(encoding="utf-8"))


def catalog(lang: str) -> dict[str, str]:
    return folder_catalog(ENGINE_LOCALE, lang)


class Translate(Protocol):
    """What `_` is, and what `translator` and `text_of` give: a message id (and its context) to the current language."""

    def __call__(self, message: str, context: str | None = None) -> str: ...


CONTEXT_MARK = "\x04"  # gettext's: the catalog key of a message said in a context is "context\x04message"


def key(message: str, context: str | None = None) -> str:
    """The catalog key of a message: the message itself, or with its context when one English word needs two
    translations (the "OK" of a button is not the "OK" of a finished run)."""
    return f"{context}{CONTEXT_MARK}{message}" if context else message


def _(message: str, context: str | None = None) -> str:
    if _current == "en":
        return message
    return catalog(_current).get(key(message, context)) or message


def clauses(parts: Iterable[str]) -> str:
    """Clauses said as one line (a step's findings, the first and last line of an error): "; " between them in
    English, the full-width "；" in Chinese, which carries its own space."""
    return _("; ", context="between clauses").join(parts)


def n_(singular: str, plural: str, n: int) -> str:
    """The form for `n` ("1 change", "2 changes"). Both forms are message ids, so a language with one form
    (Chinese) maps both to it, and a test checks each id has its translation."""
    return _(singular if n == 1 else plural)


def plural_translator(anchor: str) -> Callable[[str, str, int], str]:
    """`n_` with the catalog of the folder holding `anchor`, as `translator` is `_` with it."""
    translate = translator(anchor)

    def n_(singular: str, plural: str, n: int) -> str:
        return translate(singular if n == 1 else plural)

    return n_


def translator(anchor: str) -> Translate:
    """The `_` of the folder holding `anchor` (a module's __file__): its own catalog first, then the engine's."""
    locale_dir = Path(anchor).resolve().parent / "locale"

    def translate(message: str, context: str | None = None) -> str:
        if _current == "en":
            return message
        return folder_catalog(locale_dir, _current).get(key(message, context)) or _(message, context)

    return translate


def text_of(obj: object) -> Translate:
    """The `_` of the module that defines `obj` (a class or an instance): how front ends translate a step's
    title, teaching text and field labels, which are English ids declared as data."""
    cls = obj if isinstance(obj, type) else type(obj)
    return translator(inspect.getfile(cls))


set_language(detect_language())
