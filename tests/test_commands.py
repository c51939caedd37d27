"""Quoting and masking: hostile values stay single words, secrets never show."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import HOSTILE
from wizard.engine.commands import AND, MASK, Masker, Op, Secret, chain, cmd, quote


def run_sh(line: str, stdin: str | None = None) -> str:
    # bytes, not text=True: universal newlines would turn a hostile "\r\n" into "\n" and hide a bug
    out = subprocess.run(["sh", "-c", line], input=(stdin or "").encode(), capture_output=True, check=True).stdout
    return out.decode("utf-8")


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_reaches_the_program_as_one_untouched_argument(value: str) -> None:
    # printf '%s\0' prints each argument NUL-terminated: we can see exactly what the program received.
    line = cmd("printf", "%s\\0", value, "after").shell()
    received = run_sh(line).split("\0")[:-1]
    assert received == [value, "after"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_in_sh_c_script_arguments_is_not_executed(value: str, tmp_path) -> None:
    marker = tmp_path / "pwned"
    hostile = value + f"; touch {marker}"
    line = cmd("sh", "-c", 'printf "%s" "$1"', "sh", hostile).shell()
    assert run_sh(line) == hostile
    assert not marker.exists()


def test_nul_byte_is_refused() -> None:
    with pytest.raises(ValueError):
        quote("a\0b")


def test_ops_are_emitted_unquoted_and_values_are_not() -> None:
    line = cmd("echo", "a", AND, "echo", "&&").shell()
    assert run_sh(line) == "a\n&&\n"


def test_secret_is_revealed_only_in_the_shell_line() -> None:
    secret = Secret("db password", "s3cr3t'; id #")
    command = cmd("printf", "%s", secret)
    assert run_sh(command.shell()) == "s3cr3t'; id #"
    assert "s3cr3t" not in command.masked()
    assert MASK in command.masked()
    assert "s3cr3t" not in str(command) and "s3cr3t" not in repr(secret) and "s3cr3t" not in f"{secret}"


def test_secret_on_stdin_is_masked_and_delivered() -> None:
    secret = Secret("pw", "hunter2")
    command = cmd("cat", stdin=secret)
    assert "hunter2" not in command.masked()
    assert command.stdin_text() == "hunter2"
    assert command.secrets() == [secret]


def test_display_form_is_used_for_summary_but_not_for_the_real_line() -> None:
    command = cmd("sh", "-c", "long boilerplate; exec true", display="true")
    assert command.summary() == "true"
    assert "boilerplate" in command.shell()


def test_env_values_are_quoted() -> None:
    command = cmd("sh", "-c", 'printf "%s" "$X"', env={"X": "$(id) ; `id`"})
    assert run_sh(command.shell()) == "$(id) ; `id`"


def test_chain_joins_commands_with_and() -> None:
    command = chain([cmd("true"), cmd("echo", "ok")])
    assert run_sh(command.shell()) == "ok\n"
    failing = chain([cmd("false"), cmd("echo", "never")])
    assert subprocess.run(["sh", "-c", failing.shell()], capture_output=True, text=True).stdout == ""


def test_booleans_are_not_silently_stringified() -> None:
    with pytest.raises(TypeError):
        cmd("echo", True).shell()  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["hunter2", "p@ss w0rd", "中文密码", "a'b\"c", "x" * 200])
def test_masker_hides_every_occurrence_in_output(value: str) -> None:
    masker = Masker([Secret("s", value)])
    text = f"error: auth failed for {value}; retry with {value}"
    masked = masker(text)
    assert value not in masked
    assert masked.count(MASK) == 2


def test_masker_prefers_longest_secret_so_no_suffix_leaks() -> None:
    masker = Masker([Secret("a", "abc"), Secret("b", "abcdef")])
    assert masker("x abcdef y") == f"x {MASK} y"


def test_masker_without_secrets_is_identity() -> None:
    assert Masker()("nothing secret") == "nothing secret"


def test_op_is_only_for_our_own_syntax() -> None:
    assert cmd("true", Op("2>/dev/null")).shell() == "true 2>/dev/null"
