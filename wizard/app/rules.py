"""Checks across steps: a step that only works beside another one, refused with the reason before anything runs.

Why a table, and why here: each step validates its own settings, but "nginx without an app server" is a fact
about the recipe as a whole. Found at plan time it costs a connection and a half-built server; found here it
is refused where every recipe is validated (recipefile.parse: the CLI's load, `--set`, the wizard's save), with
the same words everywhere. README.md lists every rule of this table (a test checks that it does).

A rule is about the steps a recipe selects; a step that is not installed (a plugin left out) makes no rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wizard.app import registry
from wizard.engine.i18n import _


@dataclass(frozen=True)
class Needs:
    """`step` does not work without `needed`; `why` says what `needed` does for it (a function: the reason is
    said in the language of the moment)."""

    step: str
    needed: str
    why: Callable[[], str]


RULES: tuple[Needs, ...] = (
    Needs("nginx", "app_server", lambda: _("nginx hands every request it does not serve from disk to the app "
                                           "server (gunicorn); without one, every page is 502 Bad Gateway.")),
    Needs("tls", "nginx", lambda: _("the certificate is obtained through nginx (it answers the certificate "
                                    "authority's challenge) and served by it.")),
    Needs("workers", "code", lambda: _("a worker runs the app's live release, which the code step deploys; "
                                       "without it there is nothing to run.")),
    Needs("static", "nginx", lambda: _("nginx is what serves the static and media files from disk; without it "
                                       "nothing serves them.")),
)


def unmet(selected: Iterable[str], rules: Iterable[Needs] = RULES) -> list[Needs]:
    """The rules the selected steps break (a step taken without its partner), in the table's order."""
    chosen = set(selected)
    installed = registry.by_name()
    return [rule for rule in rules if rule.step in chosen and rule.step in installed and rule.needed not in chosen
            and rule.needed in installed]


def broken(selected: Iterable[str], rules: Iterable[Needs] = RULES) -> list[tuple[str, str]]:
    """(step, why it is refused) for every rule the selected steps break, in the table's order."""
    installed = registry.by_name()
    problems = []
    for rule in unmet(selected, rules):
        step, needed = installed[rule.step].label(), installed[rule.needed].label()
        problems.append((rule.step, _("“{step}” needs “{needed}”: {why} Include “{needed}” ({name}), or leave "
                                      "“{step}” out.").format(step=step, needed=needed, why=rule.why(),
                                                             name=rule.needed)))
    return problems
