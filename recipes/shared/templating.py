"""Config files come from Jinja2 templates kept beside the recipes (recipes/templates/*.j2).

Why StrictUndefined and no autoescape: a missing variable must fail loudly at plan time instead of writing
an empty directive, and config files are not HTML. Values are validated by the step's settings model
before they ever reach a template.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(sorted(str(p) for p in Path(__file__).parents[1].glob("*/templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **values: object) -> str:
    return environment().get_template(name).render(**values)
