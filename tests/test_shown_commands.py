"""A plan shows exactly what runs: a command setting is shown the way a shell would have to be given it to run the
same words, because it runs as arguments and never through a shell (`*` stays `*`, no glob)."""

from __future__ import annotations

import shlex

import pytest

from recipes.shared.common import chained, once_per_release, shown_command
from wizard.engine.step import Context, RunCommand


@pytest.mark.parametrize(("typed", "shown"), [
    ("*", "'*'"),
    ("./collect * 'two words'", "./collect '*' 'two words'"),
    ("npm ci && npm run build", "npm ci && npm run build"),
    ("echo ~root && ls ?", "echo '~root' && ls '?'"),
    ("python manage.py collectstatic --noinput", "python manage.py collectstatic --noinput"),
])
def test_a_command_setting_is_shown_as_a_shell_would_run_it(typed: str, shown: str) -> None:
    assert shown_command(typed) == shown


@pytest.mark.parametrize("typed", ["*", "./collect * 'two words' [a]", "npm ci && npm run build *.js", "a && b c"])
def test_the_shown_words_are_the_words_that_run(typed: str) -> None:
    """What a reader would run by copying the plan's line equals the arguments the server gets."""
    ctx = Context(app="shop", user="shop")
    run = next(c for c in once_per_release(ctx, "0123456789ab", "collected", typed, why="w", remember="r",
                                           timeout=60) if isinstance(c, RunCommand))
    shown = run.describe().removeprefix("cd /srv/shop/releases/0123456789ab && ")
    _script, executed = chained(shlex.split(typed))
    assert [w for w in shlex.split(shown) if w != "&&"] == executed
    assert run.command.bits[-len(executed):] == tuple(executed)
