"""User-facing text in English and Simplified Chinese.

Why a JSON catalog keyed by the English text (gettext style without the .mo build step): the English
message is the id, so code stays readable, a missing translation falls back to English instead of crashing,
and a test can list every `_()` call that has no Chinese entry. The whole UI (CLI, TUI, plans, teaching
texts, exports) goes through `_()`.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

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


@cache
def catalog(lang: str) -> dict[str, str]:
    path = Path(__file__).with_name("locale") / f"{lang}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _(message: str) -> str:
    if _current == "en":
        return message
    return catalog(_current).get(message) or message


set_language(detect_language())
