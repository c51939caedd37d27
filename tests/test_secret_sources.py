"""Secret references: the operator sees what was read (never the value), file: reads only small UTF-8 regular
files outside /proc and /sys, a plan reads only the secrets its steps ask for and sends none of them."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from tests.test_transport_ssh import Server
from wizard.app.recipefile import parse
from wizard.app.session import Questions, run_recipe
from wizard.cli import main
from wizard.engine.events import Event, Notice
from wizard.engine.hostkeys import fingerprint_of
from wizard.engine.secrets import MAX_FILE, SecretError, SecretResolver
from wizard.engine.transports.local import LocalTransport


def resolve(ref: str) -> str:
    return SecretResolver(environ={}).resolve(ref, "database.password").reveal()


def test_a_small_text_file_is_read_and_the_read_is_told_without_the_value(tmp_path) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    told: list[tuple[str, str]] = []
    resolver = SecretResolver(environ={"DB_PW": "from-env"}, on_read=lambda label, what: told.append((label, what)))
    assert resolver.resolve(f"file:{tmp_path}/pw", "database.password").reveal() == "from-file"
    assert resolver.resolve("env:DB_PW", "app_server.secret_env.TOKEN").reveal() == "from-env"
    resolver.resolve("env:DB_PW", "app_server.secret_env.TOKEN")  # resolved once, told once
    assert told == [("database.password", f"the file {tmp_path}/pw"),
                    ("app_server.secret_env.TOKEN", "the environment variable DB_PW")]


@pytest.mark.parametrize(("path", "why"), [
    ("/dev/zero", "device file"), ("/dev/null", "device file"), ("/proc/self/environ", "under /proc"),
    ("/proc/1/cmdline", "under /proc"), ("/sys/kernel/hostname", "under /sys"), ("/tmp", "directory"),
])
def test_devices_proc_sys_and_directories_are_refused(path: str, why: str) -> None:
    with pytest.raises(SecretError, match=why) as info:
        resolve(f"file:{path}")
    assert str(info.value).startswith(f"database.password: cannot use {path} as a secret: ")


def test_a_symlink_into_proc_is_refused(tmp_path) -> None:
    (tmp_path / "link").symlink_to("/proc/self/environ")
    with pytest.raises(SecretError, match="under /proc"):
        resolve(f"file:{tmp_path}/link")


def test_a_fifo_and_a_socket_are_refused_without_blocking(tmp_path) -> None:
    os.mkfifo(tmp_path / "fifo")  # nobody writes to it: opening it for reading would wait forever
    with pytest.raises(SecretError, match="not a regular file"):
        resolve(f"file:{tmp_path}/fifo")  # opened, it would block until the per-test timeout
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(SecretError, match="not a regular file"):
            resolve(f"file:{tmp_path}/sock")


def test_a_file_over_64_kib_is_refused(tmp_path) -> None:
    (tmp_path / "ok").write_text("x" * MAX_FILE)
    assert len(resolve(f"file:{tmp_path}/ok")) == MAX_FILE
    (tmp_path / "big").write_text("x" * (MAX_FILE + 1))
    with pytest.raises(SecretError, match="larger than 64 KiB"):
        resolve(f"file:{tmp_path}/big")


def test_bytes_that_are_not_utf8_are_refused(tmp_path) -> None:
    (tmp_path / "bin").write_bytes(b"pass\xff\xfeword")
    with pytest.raises(SecretError, match=r"not UTF-8 text \(byte 4\)"):
        resolve(f"file:{tmp_path}/bin")


def recipe_text(secret_ref: str, sudo_ref: str = "env:DW_TEST_SUDO_NEVER_SET") -> str:
    return (f"version: 1\nname: demo\ntarget: {{host: localhost, sudo_password: '{sudo_ref}'}}\n"
            f"steps:\n  app_server: {{secret_env: {{API_TOKEN: '{secret_ref}'}}}}\n")


class Recording(LocalTransport):
    """This machine, as root (no sudo): every command line and stdin sent is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def _exec(self, command_line, stdin, on_output, timeout):
        self.sent.append(command_line + "\n" + (stdin or ""))
        return await super()._exec(command_line, stdin, on_output, timeout)

    async def _upload_temp(self, content: bytes) -> str:
        self.sent.append(content.decode("utf-8", "replace"))
        return await super()._upload_temp(content)


@pytest.mark.skipif(os.geteuid() != 0, reason="the plan reads root-only facts on this machine")
async def test_a_plan_reads_only_what_its_steps_ask_for_says_so_and_sends_none_of_it(monkeypatch) -> None:
    monkeypatch.setenv("DW_TEST_TOKEN", "tok-9q8w7e-unique")
    recipe = parse(recipe_text("env:DW_TEST_TOKEN"))
    events: list[Event] = []
    transports: list[Recording] = []

    def factory() -> Recording:
        transports.append(Recording())
        return transports[-1]

    result = await run_recipe(recipe, "plan", events.append, Questions(), journal=False, transport_factory=factory)
    assert result.ok, result.error  # the sudo password's variable is not set, and nothing needed it
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["secret app_server.secret_env.API_TOKEN: read from the environment variable DW_TEST_TOKEN"]
    assert not any("tok-9q8w7e" in text for text in transports[0].sent)  # the plan wrote nothing: nothing sent
    assert not any("tok-9q8w7e" in repr(e) for e in events)


@pytest.mark.skipif(os.geteuid() != 0, reason="the plan reads root-only facts on this machine")
async def test_the_cli_refuses_a_bad_secret_file_with_exit_2(tmp_path, capsys) -> None:
    """End to end: `plan` over SSH (the in-process server of test_transport_ssh), exit 2 naming the secret."""
    srv = Server(tmp_path, nopasswd=True)
    await srv.start()
    try:
        recipe = tmp_path / "r.yaml"
        recipe.write_text(f"version: 1\nname: demo\ntarget: {{host: 127.0.0.1, port: {srv.port}, user: alice, "
                          f"key: '{srv.client_key_path}', host_key: '{fingerprint_of(srv.host_key_line)}'}}\n"
                          f"steps:\n  app_server: {{secret_env: {{API_TOKEN: 'file:{tmp_path}'}}}}\n")
        code = await asyncio.to_thread(main, ["plan", str(recipe)])  # the server needs this loop running
    finally:
        srv.server.close()
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"app_server.secret_env.API_TOKEN: cannot use {tmp_path} as a secret: it is a directory" in err
    assert "Traceback" not in err


def test_a_bad_secret_is_bad_input_not_a_failed_step(tmp_path) -> None:
    """The run stops with the SecretError (exit 2) where it used to be a failed step (exit 1)."""
    resolver = SecretResolver(environ={})
    with pytest.raises(SecretError) as info:
        resolver.resolve(f"file:{tmp_path}", "app_server.secret_env.API_TOKEN")
    assert info.value.exit_code == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="the plan reads root-only facts on this machine")
async def test_a_run_stops_at_a_bad_secret_with_a_secret_error(tmp_path) -> None:
    recipe = parse(recipe_text(f"file:{Path(tmp_path)}"))
    with pytest.raises(SecretError, match="is a directory"):
        await run_recipe(recipe, "plan", lambda e: None, Questions(), journal=False, transport_factory=LocalTransport)


def test_each_prompt_is_its_own_question_while_a_reference_is_read_once() -> None:
    """Two settings set to `prompt` are two answers (the sudo password is not the database password); two settings
    reading the same variable share its one value."""
    asked: list[str] = []

    def prompt(label: str) -> str:
        asked.append(label)
        return f"answer to {label}"

    resolver = SecretResolver(prompt, environ={"SHARED": "one-value"})
    assert resolver.resolve("prompt", "target.sudo_password").reveal() == "answer to target.sudo_password"
    assert resolver.resolve("prompt", "database.password").reveal() == "answer to database.password"
    assert resolver.resolve("prompt", "database.password").reveal() == "answer to database.password"
    assert asked == ["target.sudo_password", "database.password"]
    assert resolver.resolve("env:SHARED", "a.x") is resolver.resolve("env:SHARED", "b.y")


@pytest.mark.parametrize("value", ["x", "admin", "seven77"])
def test_a_secret_shorter_than_eight_characters_is_refused_saying_why(value: str) -> None:
    """A short value also appears in ordinary output, where hiding it corrupts what the engine reads back (the
    password "x" hid the x of the host name os_updates reads, and the step never converged)."""
    with pytest.raises(SecretError) as info:
        SecretResolver(environ={"DB_PW": value}).resolve("env:DB_PW", "database.password")
    said = str(info.value)
    where = "database.password (read from the environment variable DB_PW)"  # the variable to fix, named
    assert said.startswith(f"{where}: the secret has {len(value)} character")
    assert "use at least 8" in said and value not in said.split(";")[0].replace(where, "")
    eight = SecretResolver(environ={"DB_PW": "eight888"}).resolve("env:DB_PW", "database.password")
    assert eight.reveal() == "eight888"
