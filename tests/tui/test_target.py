"""The Target screen's connection test: what it says about the login, from what the connection probe found.

The SSH transport is replaced by a stand-in that answers like a server would (the real one is exercised
against an in-process SSH server in tests/test_transport_ssh.py and live in tests/live): no connection and no
process is left when the app ends.
"""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from tests.tui.conftest import showing
from wizard.app.draft import Draft
from wizard.engine.commands import Command
from wizard.engine.i18n import set_language
from wizard.engine.transports.base import Result, SudoMode

PROBE_ANSWER = "Debian GNU/Linux 12 (bookworm)\nPython 3.11.2\n9.1G 20G\n1963\n"


def stand_in(user: str, uid: int, sudo: SudoMode) -> type:
    class Transport:
        """Answers the probe like a server where `user` logs in; records that it was closed."""

        closed = False

        def __init__(self, target: object, **callbacks: object) -> None:
            self.login_user, self.is_root, self.sudo_mode = "", False, SudoMode.NONE

        async def connect(self) -> None:
            self.login_user, self.is_root, self.sudo_mode = user, uid == 0, sudo

        async def run(self, command: Command, timeout: float | None = None) -> Result:
            return Result(0, PROBE_ANSWER, "")

        async def close(self) -> None:
            type(self).closed = True

    return Transport


async def probe(monkeypatch: pytest.MonkeyPatch, user: str, uid: int, sudo: SudoMode) -> str:
    transport = stand_in(user, uid, sudo)
    monkeypatch.setattr("wizard.engine.transports.ssh.SSHTransport", transport)
    draft = Draft(name="demo")
    draft.target = {"host": "web1.example.com", "user": user}
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert showing(app) == "TargetScreen"
        await pilot.click("#test")
        for _ in range(50):
            await asyncio.sleep(0.05)
            text = str(app.screen.query_one("#probe").render())
            if text.startswith(("Connected", "已以")):
                break
    assert transport.closed
    return text


@pytest.mark.parametrize(("user", "uid", "sudo", "said"), [
    ("root", 0, SudoMode.MISSING, "root login"),  # root on a server without sudo needs none
    ("root", 0, SudoMode.NOPASSWD, "root login"),
    ("admin", 1000, SudoMode.NOPASSWD, "sudo without password"),
    ("ops", 1001, SudoMode.PASSWORD, "sudo asks a password"),
    ("guest", 1002, SudoMode.MISSING, "no sudo!"),
])
async def test_the_connection_test_says_how_the_login_becomes_root(monkeypatch: pytest.MonkeyPatch, user: str,
                                                                   uid: int, sudo: SudoMode, said: str) -> None:
    text = await probe(monkeypatch, user, uid, sudo)
    assert text == (f"Connected as {user} ({said}).\nOS: Debian GNU/Linux 12 (bookworm)\nPython: Python 3.11.2\n"
                    "Disk: 9.1G free of 20G\nMemory: 1963 MiB")


async def test_a_root_login_is_said_in_chinese_too(monkeypatch: pytest.MonkeyPatch) -> None:
    set_language("zh_CN")
    try:
        text = await probe(monkeypatch, "root", 0, SudoMode.MISSING)
    finally:
        set_language("en")
    assert text == ("已以 root 身份连接（root 登录）。\n系统：Debian GNU/Linux 12 (bookworm)\nPython：Python 3.11.2\n"
                    "磁盘：共 20G，可用 9.1G\n内存：1963 MiB"), text


def test_what_the_probe_could_not_tell_is_said_not_left_blank() -> None:
    from screens.target import probed

    assert probed("Debian GNU/Linux 13 (trixie)\n\n") == {"os": "Debian GNU/Linux 13 (trixie)", "py": "no python3",
                                                         "disk": "?", "ram": "?"}


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "Connection failed: cannot connect to 127.0.0.1:1: nothing answers on that port (connection refused)"),
    ("zh_CN", "连接失败：无法连接到 127.0.0.1:1：该端口上没有任何服务应答（连接被拒绝）")])
async def test_a_refused_connection_is_said_in_plain_words(lang: str, said: str) -> None:
    """The real SSH transport against a closed local port: no "[Errno 111] Connect call failed"."""
    set_language(lang)
    draft = Draft(name="demo")
    draft.target = {"host": "127.0.0.1", "port": 1, "user": "x"}
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#test")
        for _ in range(100):
            await asyncio.sleep(0.05)
            text = str(app.screen.query_one("#probe").render())
            if "127.0.0.1:1" in text:
                break
    assert text.startswith(said) and "Errno" not in text, text


def test_network_errors_are_said_without_errno() -> None:
    import errno
    import socket

    from wizard.engine.transports.reasons import plain_reason

    assert plain_reason(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('10.0.0.1', 22)")) == (
        "nothing answers on that port (connection refused): check the port, and that the SSH server runs there")
    assert plain_reason(OSError("Multiple exceptions: [Errno 111] Connect call failed, [Errno 99] x")).startswith(
        "nothing answers on that port")
    assert plain_reason(socket.gaierror(socket.EAI_NONAME, "Name or service not known")).startswith(
        "the name does not resolve")
    assert plain_reason(TimeoutError()).startswith("no answer in time")
    assert plain_reason(OSError(errno.EIO, "I/O error")) == "I/O error"
