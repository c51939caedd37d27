"""The local transport: the same interface, run on this machine.

Why: an operator can provision the machine the wizard runs on, and the runner's tests need a real shell
without a network. Privileges work exactly as over SSH (sudo -n, or a password fed on stdin).
"""

from __future__ import annotations

import asyncio
import os
import tempfile

from wizard.engine.i18n import _
from wizard.engine.transports.base import CommandTimeout, OutputCallback, Result, Transport


class LocalTransport(Transport):
    label = "localhost"

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command_line, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        collected: dict[str, list[str]] = {"stdout": [], "stderr": []}

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            while line := await stream.readline():
                text = line.decode("utf-8", "replace").rstrip("\n")
                collected[name].append(text)
                if on_output is not None:
                    on_output(name, text)

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
