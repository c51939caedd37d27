"""This machine's end of a one-off command (`deploy-wizard run`): the terminal or the pipes, relayed both ways.

Why a module of its own: the SSH and the local transport start processes differently, but what happens around
them is the same and easy to get wrong: the local terminal goes into raw mode only while the command runs
(keystrokes such as Ctrl-C and a password typed for createsuperuser belong to the server) and is restored
whatever happens; window size changes follow; output streams as it arrives, masked like every other output,
with a secret split between two chunks held back until it can be masked whole.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import termios
import tty
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from wizard.engine.commands import Masker

CHUNK = 65536
Reader = Callable[[], Awaitable[bytes]]  # one chunk, b"" at the end


@dataclass
class Console:
    """The file descriptors a one-off command is attached to; `tty`: both ends are a terminal, so the server
    gives the command a terminal too (term_type, this window's size) and this one goes raw meanwhile."""

    stdin: int = 0
    stdout: int = 1
    stderr: int = 2
    tty: bool = False
    term_type: str = "xterm"

    @classmethod
    def of_process(cls) -> Console:
        """The CLI's own: a terminal only when stdin and stdout both are one (a pipe on either end is a script)."""
        return cls(tty=os.isatty(0) and os.isatty(1), term_type=os.environ.get("TERM") or "xterm")

    def size(self) -> tuple[int, int]:
        """(columns, rows) of the window; 80x24 when it cannot be asked."""
        try:
            size = os.get_terminal_size(self.stdout)
        except OSError:
            return 80, 24
        return size.columns or 80, size.lines or 24

    @contextmanager
    def raw(self) -> Iterator[None]:
        """Raw mode while the command runs, as ssh does: every key goes to the server unprocessed. Restored on
        any exit, and on SIGTERM/SIGHUP (see `relay`), so the operator never gets a dead terminal back."""
        if not self.tty:
            yield
            return
        saved = termios.tcgetattr(self.stdin)
        tty.setraw(self.stdin, termios.TCSADRAIN)
        try:
            yield
        finally:
            termios.tcsetattr(self.stdin, termios.TCSADRAIN, saved)

    @contextmanager
    def size_changes(self, resize: Callable[[int, int], None]) -> Iterator[None]:
        """Tell the server's terminal about every new window size (SIGWINCH) while the command runs."""
        if not self.tty:
            yield
            return
        loop = asyncio.get_running_loop()
        watching = _add_signal(loop, signal.SIGWINCH, lambda: resize(*self.size()))
        try:
            yield
        finally:
            if watching:
                loop.remove_signal_handler(signal.SIGWINCH)


@dataclass
class Remote:
    """A started command as the relay drives it; each transport adapts its own process to this."""

    send: Callable[[bytes], Awaitable[None]]  # to its stdin; quietly nothing once it stopped reading
    send_eof: Callable[[], Awaitable[None]]
    outputs: dict[str, Reader]  # "stdout", "stderr" (a terminal has only stdout)
    wait: Callable[[], Awaitable[int]]  # its exit status, 0..255
    resize: Callable[[int, int], None] = field(default=lambda columns, rows: None)


class MaskedStream:
    """One output stream, chunk by chunk: decoded, masked and encoded back byte for byte (bytes that are not
    UTF-8 survive as they are), keeping back a tail that may be the first half of a secret."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.held = ""

    def feed(self, data: bytes, final: bool = False) -> bytes:
        text = self.masker(self.held + self.decoder.decode(data, final))
        keep = 0 if final else self.masker.open_tail(text)
        self.held = text[len(text) - keep:]
        return text[:len(text) - keep].encode("utf-8", "surrogateescape")


async def read_chunk(fd: int) -> bytes:
    """The next chunk of `fd` once it has one, without blocking the loop; b"" at the end (or a hung-up terminal).

    The reader is registered for one chunk at a time, so a command that reads slowly is not flooded, and a
    regular file (`< dump.sql`), which cannot be watched and never blocks, is simply read."""
    loop = asyncio.get_running_loop()
    while True:
        ready = loop.create_future()
        try:
            loop.add_reader(fd, _wake, ready)
        except PermissionError:  # a regular file or /dev/null
            return _read(fd) or b""
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        data = _read(fd)
        if data is not None:
            return data


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:
        return None
    except OSError:  # EIO: the other side of a terminal closed
        return b""


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


async def relay(console: Console, remote: Remote, masker: Masker, first: bytes = b"") -> int:
    """Relay stdin to the command and its output back until it ends; its exit status.

    `first` goes ahead of the operator's input (the sudo password, when sudo needs one). 141 (SIGPIPE) when
    our own stdout was closed (`run ... | head -1`); 128+N when this process got SIGTERM or SIGHUP.
    """
    if first:
        await remote.send(first)
    stopped: list[int] = []
    with console.raw(), console.size_changes(remote.resize), _stop_on(stopped):
        tasks = [asyncio.ensure_future(_drain(read, console.stderr if name == "stderr" else console.stdout, masker))
                 for name, read in remote.outputs.items()]
        feeding = asyncio.ensure_future(_feed(console, remote))
        try:
            await asyncio.gather(*tasks)
            return await remote.wait()
        except BrokenPipeError:
            return 128 + signal.SIGPIPE
        except asyncio.CancelledError:
            if stopped:
                return 128 + stopped[0]
            raise
        finally:
            for task in (*tasks, feeding):
                task.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, feeding, return_exceptions=True)


async def _feed(console: Console, remote: Remote) -> None:
    while data := await read_chunk(console.stdin):
        await remote.send(data)
    await remote.send_eof()


async def _drain(read: Reader, fd: int, masker: Masker) -> None:
    stream = MaskedStream(masker)
    while data := await read():
        write_all(fd, stream.feed(data))
    write_all(fd, stream.feed(b"", final=True))


@contextmanager
def _stop_on(stopped: list[int]) -> Iterator[None]:
    """SIGTERM or SIGHUP while relaying: stop the relay (so the terminal is restored and the session closed)
    instead of dying in raw mode."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    caught = []
    for number in (signal.SIGTERM, signal.SIGHUP):
        def stop(number: int = number) -> None:
            stopped.append(number)
            if task is not None:
                task.cancel()
        if _add_signal(loop, number, stop):
            caught.append(number)
    try:
        yield
    finally:
        for number in caught:
            loop.remove_signal_handler(number)


def _add_signal(loop: asyncio.AbstractEventLoop, number: int, handler: Callable[[], object]) -> bool:
    """A signal handler on the loop; False where there can be none (a loop outside the main thread)."""
    try:
        loop.add_signal_handler(number, handler)
    except (ValueError, RuntimeError):
        return False
    return True


__all__ = ["CHUNK", "Console", "MaskedStream", "Remote", "read_chunk", "relay", "write_all"]
