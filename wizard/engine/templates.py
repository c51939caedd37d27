"""Config files come from Jinja2 templates kept beside the step that writes them (recipes/STEP/templates/).

Why StrictUndefined and no autoescape: a missing variable must fail loudly at plan time instead of writing
an empty directive, and config files are not HTML. Values are validated by the step's settings model
before they ever reach a template. Why `renderer(__file__)`: each step (a built-in one, or a step package
of your own) finds its templates in the folder beside its module, never in a shared pile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import jinja2


@cache
def environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def renderer(anchor: str) -> Callable[..., str]:
    """`render(name, **values)` for the templates/ folder beside `anchor` (a module's __file__)."""
    folder = Path(anchor).resolve().parent / "templates"

    def render(name: str, **values: object) -> str:
        return environment(folder).get_template(name).render(**values)

    return render
