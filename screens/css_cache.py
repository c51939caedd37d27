"""Textual's parsed CSS, kept between starts of the wizard.

Why: before its first frame Textual parses the CSS of every widget class it meets (Button's alone is 7 KB) and
the app's own app.tcss. That parse was about 20 ms of the wizard's ~85 ms between its imports and its first
paint (bench/startup.py), and it gives the same rules on every start: the input is the CSS text and the theme's
variables, both part of the key here. So the rules parsed once are pickled to the user's cache directory and read
back (about 3 ms) on the next start; a start after an upgrade of Textual or of Python starts from an empty cache.

Why pickle is safe here: the file is only read when it and its directory belong to the user running the wizard
and nobody else may write them, the same trust as that user's own `~/.bashrc`. Anything wrong with the file (a
half-written one, another version's) only means parsing again, never an error on the screen.
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import textual
from platformdirs import user_cache_path
from textual.css import stylesheet
from textual.css.model import RuleSet

Key = tuple[Any, ...]  # Textual's own parse-cache key (css, read_from, defaults, tie breaker, scope) + the theme
LIMIT = 256  # entries; past it only what this start used is kept (old themes, edited CSS go)


def cache_file() -> Path:
    return user_cache_path("deploy-wizard") / "textual-css.pickle"


def _stamp() -> tuple[Any, ...]:
    """What the pickled rules depend on besides their key: Python's version (the pickle's classes) and the
    installed Textual's files (an upgrade rewrites them), read with a stat instead of importlib.metadata's
    version, which alone costs milliseconds."""
    files = (textual.__file__, stylesheet.__file__)
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


def save(path: Path, rules: dict[Key, list[RuleSet]]) -> None:
    """Written whole and renamed into place, so a crash or two wizards at once never leave half a file; only into
    a folder that is the user's alone (`sudo` keeping another user's HOME: root writes nothing there)."""
    with suppress(OSError, pickle.PicklingError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(path.parent.stat()):
            return
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=".css-")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((_stamp(), rules), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise


def _theme(sheet: stylesheet.Stylesheet) -> tuple[tuple[str, str], ...]:
    """The variables the rules were parsed with ($primary and the rest are substituted while parsing); kept on
    the stylesheet until Textual gives it other variables (a theme change), so it is built once per theme."""
    variables = sheet._variables
    known = sheet.__dict__.get("_dw_theme")
    if known is None or known[0] is not variables:
        known = (variables, tuple(sorted(variables.items())))
        sheet.__dict__["_dw_theme"] = known
    return known[1]


@contextmanager
def kept(path: Path | None = None) -> Iterator[None]:
    """While the wizard runs, every stylesheet parses through the cache; what was parsed anew is saved at its
    end. Only the wizard's own run uses it (screens.app.run_app): tests and snapshots parse as Textual does."""
    path = path or cache_file()
    rules = load(path)
    known = len(rules)
    used: set[Key] = set()
    original = stylesheet.Stylesheet._parse_rules

    def parse_rules(self: stylesheet.Stylesheet, css: str, read_from: Any, is_default_rules: bool = False,
                    tie_breaker: int = 0, scope: str = "") -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, _theme(self))
        used.add(key)
        found = rules.get(key)
        if found is None:
            found = original(self, css, read_from, is_default_rules, tie_breaker, scope)
            if not any(rule.errors for rule in found):  # Textual reports those; they are never kept
                rules[key] = found
        return found

    stylesheet.Stylesheet._parse_rules = parse_rules  # type: ignore[method-assign]
    try:
        yield
    finally:
        stylesheet.Stylesheet._parse_rules = original  # type: ignore[method-assign]
        if len(rules) != known:
            save(path, rules if len(rules) <= LIMIT else {key: rules[key] for key in used if key in rules})


__all__ = ["cache_file", "kept", "load", "save"]
