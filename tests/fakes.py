"""A transport that answers like a server would, without one: for tests of what is sent and what is shown.

The privilege logic (sudo -n, sudo -u, runuser) is the real one of wizard.engine.transports.base; only the
bytes' journey is replaced. `answer` decides what each command line gets back; every line sent is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from wizard.engine.transports.base import CommandTimeout, OutputCallback, Result, SudoMode, Transport

Answer = Callable[[str], Result]


def all_pass(line: str) -> Result:
    return Result(0, "ok\n", "")


class ScriptedTransport(Transport):
    """Logs in as `user` (uid 0 for root) with the given sudo mode; `answer(line)` for every other command."""

    opened: list[ScriptedTransport] = []  # every instance made (a test reads what the app's own one sent)

    def __init__(self, target: object = None, *, user: str = "admin", sudo: SudoMode = SudoMode.NOPASSWD,
                 answer: Answer = all_pass, **options: object) -> None:
        keep = {k: v for k, v in options.items() if k in ("password_callback", "masker", "password_attempts")}
        super().__init__(**keep)  # type: ignore[arg-type]
        self.user, self.sudo, self.answer = user, sudo, answer
        self.sent: list[str] = []
        self.closed = False
        ScriptedTransport.opened.append(self)

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        if command_line.startswith("id -un; id -u;"):  # the connection probe
            return Result(0, f"{self.user}\n{0 if self.user == 'root' else 1000}\n{self.sudo.value}\n", "")
        self.sent.append(command_line)
        result = self.answer(command_line)
        if result.exit_status == -1:
            raise CommandTimeout(f"timed out after {timeout:.0f} s")
        return result

    async def _upload_temp(self, content: bytes) -> str:
        raise AssertionError("checks never upload anything")

    async def close(self) -> None:
        self.closed = True


def scripted(**fixed: object) -> type[ScriptedTransport]:
    """A ScriptedTransport class with these options fixed, to stand in for SSHTransport (same call shape)."""

    class Fixed(ScriptedTransport):
        def __init__(self, target: object = None, **options: object) -> None:
            super().__init__(target, **{**options, **fixed})  # type: ignore[arg-type]

    return Fixed
