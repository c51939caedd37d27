"""Textual's parsed CSS, kept between starts of the wizard.

Why: before its first frame Textual parses the CSS of every widget class it meets (Button's alone is 7 KB) and
the app's own app.tcss. That parse was about 20 ms of the wizard's ~85 ms between its imports and its first
paint (bench/startup.py), and it gives the same rules on every start: the input is the CSS text and the theme's
variables, both part of the key here. So the rules parsed once are pickled to the user's cache directory and read
back (about 3 ms) on the next start; a start after an upgrade of Textual or of Python starts from an empty cache.

Why pickle is safe here: the file is only read when it and its directory belong to the user running the wizard
and nobody else may write them, the same trust as that user's own `~/.bashrc`; and only written where the user
running the wizard owns the folders already there (root with someone else's HOME writes nothing into it).
Anything wrong (a half-written file, another version's, a Textual whose internals moved) only means parsing as
Textual does, never an error on the screen.
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import textual
from platformdirs import user_cache_path
from textual.css import model, styles, stylesheet
from textual.css.model import RuleSet

from wizard.engine.fsutil import atomic_write_bytes

Key = tuple[Any, ...]  # Textual's own parse-cache key (css, read_from, defaults, tie breaker, scope) + the theme
LIMIT = 256  # entries; past it only what this start used is kept (old themes, edited CSS go)


def cache_file() -> Path:
    return user_cache_path("deploy-wizard", appauthor=False) / "textual-css.pickle"


def _stamp() -> tuple[Any, ...]:
    """What the pickled rules depend on besides their key: Python's version (the pickle's classes) and the
    installed Textual's files that define and make the rules (an upgrade rewrites them), read with a stat
    instead of importlib.metadata's version, which alone costs milliseconds."""
    files = (textual.__file__, stylesheet.__file__, model.__file__, styles.__file__)
    return (sys.version_info[:2], *((info.st_size, info.st_mtime_ns) for info in map(os.stat, files)))


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else: a file another user could replace is never unpickled."""
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(path: Path) -> dict[Key, list[RuleSet]]:
    try:
        if not _private(path.parent.stat()):
            return {}
        with path.open("rb") as handle:
            if not _private(os.fstat(handle.fileno())):
                return {}
            stamp, rules = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a missing, foreign or broken cache is only a slower start
        return {}
    return rules if stamp == _stamp() and isinstance(rules, dict) else {}


def _ours(folder: Path) -> bool:
    """The nearest folder that exists on the way to `folder` is this user's: nothing is made in another's."""
    existing = next(directory for directory in (folder, *folder.parents) if directory.exists())
    return existing.stat().st_uid == os.geteuid()


def save(path: Path, rules: dict[Key, list[RuleSet]]) -> None:
    """Written whole and renamed into place, so a crash or two wizards at once never leave half a file."""
    with suppress(Exception):  # a cache that cannot be written is only a slower next start
        if not _ours(path.parent):
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private(path.parent.stat()):
            atomic_write_bytes(path, pickle.dumps((_stamp(), rules), protocol=pickle.HIGHEST_PROTOCOL), 0o600)


_themes: weakref.WeakKeyDictionary[stylesheet.Stylesheet, tuple[dict[str, str], Key]] = weakref.WeakKeyDictionary()


def _theme(sheet: stylesheet.Stylesheet) -> Key:
    """The variables the rules were parsed with ($primary and the rest are substituted while parsing), built
    once per stylesheet and theme (Textual gives a stylesheet a new dict when the theme changes)."""
    variables = sheet._variables
    known = _themes.get(sheet)
    if known is None or known[0] is not variables:
        known = _themes[sheet] = (variables, tuple(sorted(variables.items())))
    return known[1]


def _through(rules: dict[Key, list[RuleSet]], used: set[Key],
             original: Callable[..., list[RuleSet]]) -> Callable[..., list[RuleSet]]:
    """Stylesheet._parse_rules, answered from `rules` where it holds the same CSS for the same theme."""

    def parse_rules(self: stylesheet.Stylesheet, *args: Any, **kwargs: Any) -> list[RuleSet]:
        try:
            key = (*args, *sorted(kwargs.items()), _theme(self))
            hash(key)
        except Exception:  # noqa: BLE001 - a Textual whose internals moved: parsed as Textual does
            return original(self, *args, **kwargs)
        used.add(key)
        found = rules.get(key)
        if found is None:
            found = original(self, *args, **kwargs)
            if not any(rule.errors for rule in found):  # Textual reports those; they are never kept
                rules[key] = found
        return found

    return parse_rules


@contextmanager
def kept(path: Path | None = None) -> Iterator[None]:
    """While the wizard runs, every stylesheet parses through the cache; what was parsed anew is saved at its
    end. Only the wizard's own run uses it (screens.app.run_app): tests and snapshots parse as Textual does."""
    path = path or cache_file()
    rules = load(path)
    known, used = len(rules), set[Key]()
    original = stylesheet.Stylesheet._parse_rules
    stylesheet.Stylesheet._parse_rules = _through(rules, used, original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        stylesheet.Stylesheet._parse_rules = original  # type: ignore[method-assign]
        if len(rules) != known:
            save(path, rules if len(rules) <= LIMIT else {key: rules[key] for key in used if key in rules})


__all__ = ["cache_file", "kept", "load", "save"]
