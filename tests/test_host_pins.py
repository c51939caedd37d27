"""Host-key pins that travel with the recipe (issue 18, item 1): a key trusted by the CLI is pinned in the
known-hosts file beside the recipe, an inventory entry pins its host, and a refusal names where to pin by the
field's label (the wizard's side, the target's pin filled in, is in tests/tui/test_pins.py).

The server is the in-process SSH server of tests/test_transport_ssh.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import asyncssh
import pytest

from tests.test_transport_ssh import Server
from wizard.app.fleet import InventoryError, load_inventory
from wizard.app.pins import HostPins, beside, pin_label
from wizard.app.recipefile import parse
from wizard.app.session import Questions, make_transport
from wizard.cli import common
from wizard.engine.commands import Masker
from wizard.engine.hostkeys import HostKeyChanged, HostKeyUnknown, fingerprint_of
from wizard.engine.i18n import set_language


@pytest.fixture
async def server(tmp_path):
    srv = Server(tmp_path, nopasswd=True)
    await srv.start()
    yield srv
    srv.server.close()


def recipe_for(server: Server, pin: str | None = None):  # noqa: ANN201
    pinned = f", host_key: '{pin}'" if pin else ""
    return parse(f"version: 1\nname: demo\ntarget: {{host: 127.0.0.1, port: {server.port}, user: alice, "
                 f"key: '{server.client_key_path}'{pinned}}}\nsteps: {{}}\n")


async def connect(server: Server, questions: Questions, pin: str | None = None, host: str | None = None) -> None:
    transport = make_transport(recipe_for(server, pin), questions, Masker(), host)
    try:
        await transport.connect()
    finally:
        await transport.close()


async def test_a_key_trusted_by_the_cli_is_pinned_beside_the_recipe_and_checked_from_another_machine(
        server, tmp_path, monkeypatch, capsys) -> None:
    recipe_file = tmp_path / "demo.yaml"
    args = argparse.Namespace(json=True, accept_new_host_key=True, file=str(recipe_file))
    await connect(server, common.questions(args))
    pins = beside(recipe_file)
    assert pins == tmp_path / "demo.known_hosts"
    assert f"[127.0.0.1]:{server.port} {' '.join(server.host_key_line.split()[:2])}" in pins.read_text()
    assert f"Pinned in {pins}" in capsys.readouterr().err
    # another machine: its own store is empty, nobody may be asked; the file beside the recipe is enough
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    refusing = argparse.Namespace(json=True, accept_new_host_key=False, file=str(recipe_file))
    await connect(server, common.questions(refusing))
    # and a different key there is a hard stop, not a question
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()[1]
    pins.write_text(pins.read_text().replace(server.host_key_line.split()[1], other))
    with pytest.raises(HostKeyChanged, match="demo.known_hosts"):
        await connect(server, common.questions(refusing))


async def test_an_inventory_entry_pins_its_host(server, tmp_path) -> None:
    good = fingerprint_of(server.host_key_line)
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(f"hosts:\n  - {{host: 127.0.0.1, host_key: '{good}'}}\n  - web2\n")
    loaded = load_inventory(inventory)
    assert loaded.hosts == ["127.0.0.1", "web2"] and loaded.pins == {"127.0.0.1": good}
    pins = HostPins.for_recipe(tmp_path / "demo.yaml", loaded.pins)
    await connect(server, Questions(pins=pins), host="127.0.0.1")  # pinned: no question, no store needed
    assert not beside(tmp_path / "demo.yaml").exists()
    wrong = HostPins(inventory={"127.0.0.1": "SHA256:" + "A" * 43})
    with pytest.raises(HostKeyChanged, match=r"update the inventory's entry for 127\.0\.0\.1 \(host_key\)"):
        await connect(server, Questions(pins=wrong), host="127.0.0.1")
    inventory.write_text("hosts:\n  - {host: web1, host_key: 'abc'}\n")
    with pytest.raises(InventoryError, match=r"hosts\[0\]: a host key must be pinned as its SHA256 fingerprint"):
        load_inventory(inventory)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_a_refusal_names_the_pin_by_its_label_not_its_yaml_path(server, lang) -> None:
    set_language(lang)
    with pytest.raises(HostKeyUnknown) as unknown:
        await connect(server, Questions())
    with pytest.raises(HostKeyChanged) as changed:
        await connect(server, Questions(), pin="SHA256:" + "B" * 43)
    for message in (str(unknown.value), str(changed.value)):
        assert f"“{pin_label()}”" in message and "target.host_key" not in message
    assert pin_label() == {"en": "Pinned SHA256 fingerprint of the server's host key",
                           "zh_CN": "固定的服务器主机密钥 SHA256 指纹"}[lang]


def test_the_pins_of_a_host(tmp_path: Path) -> None:
    pins = HostPins.for_recipe(tmp_path / "r.yaml", {"web2": "SHA256:two"})
    assert pins.pinned("web1", "web1", "SHA256:one") == "SHA256:one"  # the target's own
    assert pins.pinned("web2", "web1", "SHA256:one") == "SHA256:two"  # the inventory's
    assert pins.pinned("web3", "web1", "SHA256:one") is None  # the file beside the recipe, or trust
    assert str(tmp_path / "r.known_hosts") in pins.place("web3", "web1")
