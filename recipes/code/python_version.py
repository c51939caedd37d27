"""The project's Python against the server's: "make sure it matches the version you developed with".

Why here, after the checkout: only the release says what it was written for (.python-version, runtime.txt,
requires-python in pyproject.toml), and only the venv says what will run it. A different minor version is a
warning (code may still run); a requires-python the venv does not meet is a refusal, because pip would refuse
too, halfway through a deploy.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Context, Ok, PlanError, Warn

_ = translator(__file__)

MARKERS = (".python-version", "runtime.txt", "pyproject.toml")
_VERSION = re.compile(r"(\d+)\.(\d+)")


def version_facts(ctx: Context, release: str) -> list[Fact]:
    return [FileInfo(f"{release}/{name}") for name in MARKERS] + [FileInfo(f"{ctx.venv}/pyvenv.cfg")]


def venv_version(facts: FactValues, ctx: Context) -> str | None:
    cfg = facts[FileInfo(f"{ctx.venv}/pyvenv.cfg")]
    found = re.search(r"^version(?:_info)? *= *([0-9.]+)", cfg.text() or "", re.M) if cfg else None
    return found.group(1) if found else None


def minor(text: str) -> str | None:
    found = _VERSION.search(text)
    return f"{found.group(1)}.{found.group(2)}" if found else None


def requires_python(text: str) -> str | None:
    try:
        return tomllib.loads(text).get("project", {}).get("requires-python")
    except tomllib.TOMLDecodeError:
        return None


def check(facts: FactValues, ctx: Context, release: str) -> Iterator[Ok | Warn]:
    have = venv_version(facts, ctx)
    if have is None:
        return
    files = {name: facts[FileInfo(f"{release}/{name}")] for name in MARKERS}
    spec = requires_python(files["pyproject.toml"].text() or "") if files["pyproject.toml"] else None
    if spec:
        try:
            allowed = SpecifierSet(spec)
        except InvalidSpecifier:
            allowed = None
        if allowed is not None and not allowed.contains(have, prereleases=True):
            raise PlanError(_("the project needs Python {spec} (requires-python in pyproject.toml), and the server's "
                              "venv runs {have}: set the python step's version to one that matches").format(
                                  spec=spec, have=have))
    for name in (".python-version", "runtime.txt"):
        state = files[name]
        wanted = minor(state.text() or "") if state else None
        if wanted and wanted != minor(have):
            yield Warn(_("the project was written for Python {wanted} ({file}), and the server's venv runs {have}")
                       .format(wanted=wanted, file=name, have=have),
                       _("Set the python step's version to {wanted} (on Ubuntu from the deadsnakes PPA), or test the "
                         "app on {have} before it goes live.").format(wanted=wanted, have=minor(have)))
            return
    yield Ok(_("the venv's Python {have} suits the project").format(have=have))
