"""Issue 17, parts 1-3: hostile files end in a clear error (exit 2, no traceback, no hang), types are not coerced,
duplicate keys are refused by both lines, and an empty `--set` never quietly resets a setting."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from wizard.app.fleet import InventoryError, read_inventory
from wizard.app.recipefile import RecipeError, parse, setting_value, with_overrides
from wizard.cli import main
from wizard.engine import safe_yaml
from wizard.engine.commands import cmd
from wizard.engine.errors import ExitCode
from wizard.engine.transports.base import MAX_COMMAND, CommandTooLong
from wizard.engine.transports.keys import PrivateKeyError, PrivateKeys
from wizard.engine.transports.local import LocalTransport
from wizard.engine.validators import MAX_ITEMS, hostname, server_address

HEAD = "version: 1\nname: demo\ntarget:\n  host: example.com\n"
PIN = "SHA256:" + "A" * 43
PINNED = (HEAD + f"  host_key: {PIN}\nsteps:\n  app_server: {{}}\n  nginx: {{server_names: [demo.example.com]}}\n"
          "  tls: {email: ops@example.com, acme_server: 'https://10.99.1.1:14000/dir'}\n")


def refused(text: str) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        parse(text, "r.yaml")
    return info.value


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))  # a hang ends at the per-test timeout
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# 1. Tracebacks and hangs

@pytest.mark.parametrize("make", ["/dev/zero", "fifo", "/etc", "big", "missing"])
def test_a_recipe_that_is_no_small_regular_file_is_refused_at_once(make: str, tmp_path, capsys) -> None:
    path = Path(make)
    if make == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)  # nobody writes: opening it for reading as a plain open() would block forever
    elif make == "big":
        path = tmp_path / "big.yaml"
        path.write_text(HEAD + "#" + "x" * (safe_yaml.MAX_TEXT + 10) + "\n")
    elif make == "missing":
        path = tmp_path / "missing.yaml"
    code, err = cli(capsys, "plan", str(path))
    assert code == ExitCode.BAD_INPUT and err.startswith(f"{path}: cannot read the file: ")


def test_a_recipe_that_is_not_utf8_names_the_line(tmp_path, capsys) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(HEAD.encode() + b"# caf\xe9\n")
    code, err = cli(capsys, "plan", str(path))
    assert code == 2 and "not UTF-8 text (line 5" in err


def test_a_large_document_is_refused_by_size_and_a_long_one_without_aliases_is_not_told_about_aliases() -> None:
    assert "larger than 1024 KiB" in str(refused(HEAD + "#" + "x" * safe_yaml.MAX_TEXT + "\n"))
    many = HEAD + "steps:\n  os_updates:\n    packages: [" + ",".join("p" for _ in range(110_000)) + "]\n"
    message = str(refused(many))
    assert "holds more than 100000 values" in message and "alias" not in message


@pytest.mark.parametrize("style", ["flow", "block"])
def test_yaml_nested_a_thousand_levels_deep_is_refused_by_line(style: str) -> None:
    if style == "flow":
        text = HEAD + "steps:\n  os_updates:\n    packages: " + "[" * 1000 + "]" * 1000 + "\n"
    else:
        text = HEAD + "steps:\n" + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 1000)) + "\n"
    error = refused(text)
    [(line, _field, message)] = error.problems
    assert line is not None and "nested more than 64 levels deep" in message


def test_a_huge_package_list_is_refused_naming_the_field_in_a_file_and_in_set() -> None:
    text = HEAD + "steps:\n  os_updates:\n    packages: [" + ", ".join(f"p{n}" for n in range(MAX_ITEMS + 1)) + "]\n"
    [(line, field, message)] = refused(text).problems
    assert (line, field) == (7, "steps.os_updates.packages") and f"at most {MAX_ITEMS}" in message
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(HEAD), ["os_updates.packages=" + ",".join(f"p{n}" for n in range(200_000))])
    assert info.value.problems[0][1] == "steps.os_updates.packages"


def test_a_command_longer_than_a_server_takes_is_refused_before_it_is_sent() -> None:
    transport = LocalTransport()
    with pytest.raises(CommandTooLong, match="more than a server takes in one command") as info:
        asyncio.run(transport.run(cmd("echo", "x" * (MAX_COMMAND + 1), root=False)))
    assert info.value.exit_code == ExitCode.BAD_INPUT and transport.round_trips == 0


@pytest.mark.parametrize("make", ["/dev/zero", "fifo", "/etc/passwd", "/etc", "big"])
def test_a_target_key_that_is_no_key_is_refused_without_hanging(make: str, tmp_path) -> None:
    path = make
    if make == "fifo":
        path = str(tmp_path / "key-fifo")
        os.mkfifo(path)
    elif make == "big":
        path = str(tmp_path / "big-key")
        Path(path).write_bytes(b"\0" * (100 * 1024))

    async def load() -> None:
        await asyncio.wait_for(PrivateKeys().load(path), 5)

    with pytest.raises(PrivateKeyError, match=r"target\.key") as info:
        asyncio.run(load())
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_a_target_key_with_a_nul_byte_is_refused_by_line() -> None:
    [(line, field, message)] = refused(HEAD + '  key: "/home/me/.ssh/id\\0x"\n').problems
    assert (line, field) == (5, "target.key") and "\\x00" in message


# 2. Strict types

def test_a_duplicate_key_is_refused_naming_both_lines(tmp_path, capsys) -> None:
    [(line, _field, message)] = refused(HEAD + "  port: 22\n  host: evil.example.com\n").problems
    assert line == 6 and "'host' is given twice (line 4 and line 6)" in message
    nested = HEAD + "steps:\n  os_updates: {upgrade: none}\n  deploy_user: {}\n  os_updates: {}\n"
    assert "'os_updates' is given twice (line 6 and line 8)" in str(refused(nested))
    assert "given twice" in str(refused(HEAD + "steps:\n  os_updates: {upgrade: none, upgrade: full-upgrade}\n"))
    path = tmp_path / "dup.yaml"
    path.write_text(HEAD + "  host: 10.0.0.9\n")
    code, err = cli(capsys, "plan", str(path))
    assert code == 2 and err.startswith(f"{path}:5: refused: the key 'host' is given twice")


def test_keys_that_read_as_the_same_value_are_duplicates_and_different_ones_are_not() -> None:
    with pytest.raises(safe_yaml.DuplicateKeyError):
        safe_yaml.load("yes: 1\ntrue: 2\n")  # both read as True
    assert safe_yaml.load("1: a\n'1': b\n") == {1: "a", "1": "b"}


@pytest.mark.parametrize(("text", "field", "says"), [
    (HEAD.replace("version: 1", "version: true"), "version", "the file says True"),
    (HEAD.replace("version: 1", "version: 1.0"), "version", "the file says 1.0"),
    (HEAD + "  port: true\n", "target.port", "a number is expected here, not true"),
    (HEAD + "  port: 22.0\n", "target.port", "a whole number is expected here, not 22.0"),
    (HEAD + "steps:\n  code: {repo: 'https://g.example.com/x.git', keep_releases: 2.5}\n", "steps.code.keep_releases",
     "a whole number"),
    (HEAD + "steps:\n  nginx: {server_names: [a.example.com], gzip: 1}\n  app_server: {}\n", "steps.nginx.gzip",
     "true or false is expected here, not the number 1"),
])
def test_no_bool_int_or_float_coercion(text: str, field: str, says: str) -> None:
    problems = refused(text).problems
    assert any(f == field and says in m for _line, f, m in problems), problems


@pytest.mark.parametrize("host", ["12345", "1.2.3", "127.1", "0x7f000001", "2130706433", "999.1.1.1", "a.123",
                                  "a" * 64 + ".example.com", ("a" * 63 + ".") * 4 + "com", "a..b", "-a.example.com",
                                  "fe80::1%;id", ":::"])
def test_hosts_that_are_no_name_or_address_are_refused(host: str, tmp_path) -> None:
    [(line, field, _message)] = refused(HEAD.replace("example.com", f"'{host}'")).problems
    assert (line, field) == (4, "target.host")
    path = tmp_path / "hosts.yaml"
    path.write_text(f"hosts: ['{host}']\n")
    with pytest.raises(InventoryError, match=r"hosts\[0\]"):
        read_inventory(path)


@pytest.mark.parametrize("host", ["example.com", "web1", "10.99.1.2", "::1", "fe80::1%eth0", "a" * 63 + ".example.com",
                                  "xn--fsqu00a.example", "example.com."])
def test_real_names_and_addresses_pass(host: str) -> None:
    assert server_address(host) == host


def test_server_names_refuse_an_all_digit_last_label_but_take_an_address() -> None:
    assert hostname("10.99.1.2") == "10.99.1.2"
    for bad in ("12345", "shop.123", "a" * 64):
        with pytest.raises(ValueError):
            hostname(bad)


# 3. No silent downgrade

@pytest.mark.parametrize("item", ["target.host_key=", "tls.acme_server=", "tls.acme_server=  ", "name=",
                                  "os_updates.packages=", "target.port="])
def test_an_empty_set_is_refused_naming_the_field(item: str) -> None:
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(PINNED), [item])
    [(_line, field, message)] = info.value.problems
    assert field == item.partition("=")[0] and f"--reset {field}" in message


def test_reset_puts_the_default_back_explicitly() -> None:
    recipe = with_overrides(parse(PINNED), [], ["target.host_key", "tls.acme_server", "name"])
    assert recipe.target.host_key is None and recipe.steps.tls.acme_server is None and recipe.name == "app"
    assert setting_value(recipe, "tls.acme_server") is None and setting_value(recipe, "name") == "app"
    for resets, sets, why in ((["target.nope"], [], "unknown setting"), (["target.host"], [], "required"),
                              (["target.port"], ["target.port=2222"], "both --set and --reset")):
        with pytest.raises(RecipeError, match=why):
            with_overrides(parse(PINNED), sets, resets)


def test_the_cli_refuses_an_empty_set_and_says_what_a_reset_does(tmp_path, capsys) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(PINNED.replace("example.com\n", "127.0.0.1\n  port: 1\n", 1))
    code, err = cli(capsys, "plan", str(path), "--set", "target.host_key=")
    assert code == 2 and "--set: target.host_key: an empty value is refused" in err
    code, err = cli(capsys, "check", str(path), "--reset", "target.host_key", "--reset", "tls.acme_server")
    assert "--reset target.host_key: back to its default for this run: empty" in err
    assert "--reset tls.acme_server: back to its default for this run: empty" in err
    assert code == 1  # then it tried to connect (port 1 refuses): the reset was taken
    code, err = cli(capsys, "--lang", "zh_CN", "plan", str(path), "--set", "target.host_key=")  # full-width colons
    assert code == 2 and "--set：target.host_key：不接受空值" in err


@pytest.mark.parametrize("command", ["plan", "apply", "check", "export"])
def test_reset_is_in_the_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--reset STEP.FIELD" in capsys.readouterr().out
