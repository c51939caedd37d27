"""A target.key protected by a passphrase: asked once (again after a wrong one), or a clear error without a terminal.

Against the in-process SSH server of test_transport_ssh, with a key made by `ssh-keygen -N secret`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncssh
import pytest

from tests.test_transport_ssh import Server
from wizard.app.recipefile import parse
from wizard.app.session import Questions, make_transport
from wizard.cli import main
from wizard.engine.commands import Masker, cmd
from wizard.engine.errors import ExitCode
from wizard.engine.hostkeys import HostKeyStore, fingerprint_of
from wizard.engine.transports.keys import PrivateKeyError, PrivateKeys
from wizard.engine.transports.ssh import SSHTarget, SSHTransport


def ssh_keygen(path: Path, passphrase: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "test", "-f", str(path)], check=True)
    return path


@pytest.fixture
async def locked(tmp_path):
    """A server that trusts only a key protected by the passphrase 'secret'; (server, key path, trusted store)."""
    key = ssh_keygen(tmp_path / "id_locked", "secret")
    srv = Server(tmp_path, nopasswd=True)
    srv.client_key = asyncssh.read_private_key(str(key), "secret")
    await srv.start()
    store = HostKeyStore(tmp_path / "known_hosts", openssh_files=[])
    store.add("127.0.0.1", srv.port, srv.host_key_line)
    yield srv, key, store
    srv.server.close()


def transport(srv: Server, key: Path, store: HostKeyStore, keys: PrivateKeys) -> SSHTransport:
    target = SSHTarget("127.0.0.1", port=srv.port, user="alice", key=str(key), connect_timeout=5)
    return SSHTransport(target, store=store, keys=keys)


async def test_the_passphrase_is_asked_then_asked_again_after_a_wrong_one_and_then_never(locked) -> None:
    srv, key, store = locked
    answers, prompts = ["wrong", "secret"], []

    async def ask(prompt: str) -> str | None:
        prompts.append(prompt)
        return answers.pop(0)

    keys = PrivateKeys(ask)
    first = transport(srv, key, store, keys)
    await first.connect()
    assert (await first.run(cmd("echo", "in", root=False))).stdout == "in"
    assert prompts == [f"passphrase for {key}", f"passphrase for {key} (try again)"]
    assert await first.probe_login() is None  # a fresh login (the firewall's proof) uses the key already open
    second = transport(srv, key, store, keys)  # another host of the same run
    await second.connect()
    assert len(prompts) == 2
    await first.close()
    await second.close()


async def test_without_a_way_to_ask_the_error_says_what_to_do(locked) -> None:
    srv, key, store = locked
    with pytest.raises(PrivateKeyError) as info:
        await transport(srv, key, store, PrivateKeys()).connect()
    message = str(info.value)
    assert str(key) in message and "passphrase" in message and "no terminal" in message
    assert f"ssh-add {key}" in message and "without a passphrase" in message
    assert info.value.exit_code == ExitCode.BAD_INPUT


async def test_giving_up_or_three_wrong_passphrases_is_a_clear_error(locked) -> None:
    srv, key, store = locked

    async def wrong(prompt: str) -> str | None:
        return "nope"

    async def nothing(prompt: str) -> str | None:
        return None

    with pytest.raises(PrivateKeyError, match=r"wrong passphrase for the private key .* \(3 tries\)"):
        await transport(srv, key, store, PrivateKeys(wrong)).connect()
    with pytest.raises(PrivateKeyError, match="no passphrase given"):
        await transport(srv, key, store, PrivateKeys(nothing)).connect()


async def test_a_missing_or_broken_key_file_is_bad_input(locked, tmp_path) -> None:
    srv, _key, store = locked
    with pytest.raises(PrivateKeyError, match="cannot read the private key"):
        await transport(srv, tmp_path / "nothing-here", store, PrivateKeys()).connect()
    junk = tmp_path / "junk"
    junk.write_text("not a key\n")
    with pytest.raises(PrivateKeyError, match="is not a private key that can be used"):
        await transport(srv, junk, store, PrivateKeys()).connect()


async def test_one_set_of_questions_asks_once_for_every_connection(locked) -> None:
    srv, key, store = locked
    prompts: list[str] = []

    async def ask(prompt: str) -> str | None:
        prompts.append(prompt)
        return "secret"

    questions = Questions(key_passphrase=ask)
    recipe = parse(f"version: 1\ntarget: {{host: 127.0.0.1, port: {srv.port}, user: alice, key: '{key}', "
                   f"host_key: '{fingerprint_of(srv.host_key_line)}'}}\nsteps: {{os_updates: {{}}}}\n")
    for _ in range(2):  # plan, then apply
        connection = make_transport(recipe, questions, Masker())
        await connection.connect()
        await connection.close()
    assert prompts == [f"passphrase for {key}"]


def test_the_cli_without_a_terminal_exits_2_with_the_message(capsys, tmp_path) -> None:
    key = ssh_keygen(tmp_path / "id_locked", "secret")
    recipe = tmp_path / "r.yaml"  # the key is read before connecting: no server needed to see the refusal
    recipe.write_text(f"version: 1\ntarget: {{host: 127.0.0.1, port: 1, user: alice, key: '{key}', "
                      f"host_key: 'SHA256:{'A' * 43}'}}\nsteps: {{os_updates: {{}}}}\n")
    assert main(["plan", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "protected by a passphrase" in err and "ssh-agent" in err and "Traceback" not in err
