"""A build setting's `npm ci && npm run build`: plain commands joined by `&&`, each word one argument, never
shell text (recipes.shared.fields.command_chain, recipes.shared.common.chained)."""

from __future__ import annotations

import subprocess

import pytest

from recipes.shared.common import chained, once_per_release
from recipes.shared.fields import command_chain
from wizard.engine.step import Context, RunCommand


@pytest.mark.parametrize("value", ["npm ci && npm run build", "npm ci&&npm run build", "make", "a && b && c"])
def test_plain_commands_joined_by_and_are_accepted(value: str) -> None:
    assert command_chain(value) == value


@pytest.mark.parametrize("value", ["npm ci; rm -rf /", "a & b", "a || b", "a && ", "&& b", "a && && b", "a | b",
                                   "echo '&&'", "echo $(id)", "a &&& b", ""])
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        command_chain(value)


def run(words: list[str]) -> str:
    script, args = chained(words)
    return subprocess.run(["sh", "-c", script, "sh", "/nonexistent-venv", *args], capture_output=True, text=True,
                          check=True).stdout


def test_one_command_keeps_the_plain_exec() -> None:
    assert chained(["python", "manage.py", "migrate"]) == ('PATH="$1/bin:$PATH"; shift; exec "$@"',
                                                           ["python", "manage.py", "migrate"])


def test_each_word_is_one_argument_and_the_script_names_positions_only() -> None:
    words = ["printf", "[%s]", "a b", "$(id)", "&&", "printf", "<%s>", "; rm -rf /", "*"]
    script, args = chained(words)
    assert script == 'PATH="$1/bin:$PATH"; "${2}" "${3}" "${4}" "${5}" && "${6}" "${7}" "${8}" "${9}"'
    assert args == [w for w in words if w != "&&"]
    assert run(words) == "[a b][$(id)]<; rm -rf /><*>"


def test_the_second_command_runs_only_when_the_first_succeeded() -> None:
    script, args = chained(["false", "&&", "echo", "ran"])
    done = subprocess.run(["sh", "-c", script, "sh", "/nonexistent-venv", *args], capture_output=True, text=True)
    assert done.returncode != 0 and done.stdout == ""
    assert run(["true", "&&", "echo", "ran"]) == "ran\n"


def test_positions_beyond_nine_are_braced() -> None:
    words = ["printf", "%s", *"abcdefghij", "&&", "echo", "!"]
    assert run(words) == "abcdefghij!\n"


def test_once_per_release_runs_a_chain_as_the_app_user_in_the_release() -> None:
    ctx = Context(app="shop", user="shop")
    build, remember = once_per_release(ctx, "0123456789ab", "built", "npm ci && npm run build", why="build",
                                       remember="remember", timeout=60)
    assert isinstance(build, RunCommand) and build.command.user == "shop"
    assert build.command.summary() == "cd /srv/shop/releases/0123456789ab && npm ci && npm run build"
    assert build.command.bits[-5:] == ("npm", "ci", "npm", "run", "build")
    assert '"${2}" "${3}" && "${4}" "${5}" "${6}"' in str(build.command.bits[2])
