"""The local transport: the same interface, run on this machine.

Why: an operator can provision the machine the wizard runs on, and the runner's tests need a real shell
without a network. Privileges work exactly as over SSH (sudo -n, or a password fed on stdin).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import tempfile
import termios
from contextlib import suppress

from wizard.engine.commands import Masker
from wizard.engine.console import CHUNK, Console, Remote, read_chunk, relay, write_all
from wizard.engine.i18n import _
from wizard.engine.transports.base import CommandTimeout, OutputCallback, Result, Transport, Turns


class LocalTransport(Transport):
    label = "localhost"

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command_line, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        collected: dict[str, list[str]] = {"stdout": [], "stderr": []}

        turns = Turns()

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            while line := await stream.readline():
                text = line.decode("utf-8", "replace").rstrip("\n")
                collected[name].append(text)
                if on_output is not None:
                    on_output(name, text)
                    await turns.take()

        async def feed() -> None:
            assert process.stdin is not None
            if stdin:
                process.stdin.write(stdin.encode())
                try:
                    await process.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    pass
            process.stdin.close()

        assert process.stdout is not None and process.stderr is not None
        try:
            await asyncio.wait_for(
                asyncio.gather(feed(), pump(process.stdout, "stdout"), pump(process.stderr, "stderr"),
                               process.wait()),
                timeout,
            )
        except TimeoutError:
            try:
                os.killpg(process.pid, 9)
            except ProcessLookupError:
                pass
            await process.wait()
            raise CommandTimeout(_("command timed out after {seconds:.0f} s on {host}").format(
                seconds=timeout, host=self.label)) from None
        return Result(process.returncode or 0, "\n".join(collected["stdout"]), "\n".join(collected["stderr"]))

    async def _upload_temp(self, content: bytes) -> str:
        fd, path = tempfile.mkstemp(prefix=".deploy-wizard-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return path

    async def _interact(self, command_line: str, first: bytes, console: Console) -> int:
        if console.tty:
            return await _in_terminal(command_line, first, console, self.masker)
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command_line, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        stdin, stdout, stderr = process.stdin, process.stdout, process.stderr

        async def send(data: bytes) -> None:
            with suppress(BrokenPipeError, ConnectionResetError):
                stdin.write(data)
                await stdin.drain()

        async def send_eof() -> None:
            stdin.close()

        try:
            return await relay(console, Remote(send=send, send_eof=send_eof, wait=lambda: _status(process),
                                               outputs={"stdout": lambda: stdout.read(CHUNK),
                                                        "stderr": lambda: stderr.read(CHUNK)}),
                               self.masker, first)
        finally:
            await _end(process)


async def _in_terminal(command_line: str, first: bytes, console: Console, masker: Masker) -> int:
    """The command on a terminal of its own (a pty whose other end we relay), as sshd gives one."""
    master, slave = pty.openpty()
    _set_size(slave, *console.size())
    try:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command_line, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=_take_terminal, env={**os.environ, "TERM": console.term_type})
    finally:
        os.close(slave)

    async def send(data: bytes) -> None:
        with suppress(OSError):
            write_all(master, data)

    async def send_eof() -> None:
        await send(b"\x04")  # what Ctrl-D types

    try:
        return await relay(console, Remote(send=send, send_eof=send_eof, wait=lambda: _status(process),
                                           outputs={"stdout": lambda: read_chunk(master)},
                                           resize=lambda columns, rows: _set_size(master, columns, rows)),
                           masker, first)
    finally:
        await _end(process)
        os.close(master)


def _take_terminal() -> None:
    """In the child, after setsid: make the pty its controlling terminal, so Ctrl-C on it is SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _set_size(fd: int, columns: int, rows: int) -> None:
    with suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


async def _status(process: asyncio.subprocess.Process) -> int:
    code = await process.wait()
    return 128 - code if code < 0 else code


async def _end(process: asyncio.subprocess.Process) -> None:
    """The relay is over (an error, or our stdout closed): the command's whole session goes too."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        await process.wait()
