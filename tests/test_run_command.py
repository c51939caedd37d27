"""`deploy-wizard run FILE -- CMD`: the command the recipe builds, and the CLI end to end against an in-process
SSH server (the one tests/test_transport_ssh.py uses), in pipe mode and on a terminal.

The server here is that one with two changes: it gives a command a pty when the client asks for one (as sshd
does), and its file system is rooted at the test's tmp directory for /srv (the command's `/srv/` is rewritten),
so the app layout the command expects (current -> releases/..., shared/env/*.env, venv/bin) is a real one
without root. `sudo` is the fake from that file: it logs its arguments and runs the command as the same user.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import shlex
import signal
import struct
import sys
import termios
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import ROOT
from tests.test_transport_ssh import Server
from wizard.app.oneoff import NoAppError, one_off_command
from wizard.app.recipefile import load
from wizard.cli import main
from wizard.engine.commands import Masker, Secret, cmd
from wizard.engine.console import Console, MaskedStream, read_chunk
from wizard.engine.hostkeys import fingerprint_of
from wizard.engine.transports.local import LocalTransport

STEPS = """  deploy_user: {name: shop}
  python: {}
  code: {repo: "https://example.test/shop.git"}
"""


class AppServer(Server):
    """The test SSH server with a pty on request and /srv under the tmp directory."""

    async def handle(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command.replace("/srv/", f"{self.tmp}/srv/")
        if process.get_terminal_type() is None:
            status = await self.piped(process, command)
        else:
            status = await self._on_pty(process, command)
        if status < 0:
            process.exit_with_signal(signal.Signals(-status).name[3:])
        else:
            process.exit(status)

    async def _on_pty(self, process: asyncssh.SSHServerProcess, command: str) -> int:
        master, slave = pty.openpty()
        columns, rows, _, _ = process.get_terminal_size()
        set_size(slave, columns, rows)
        local = await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=take_terminal, env={**self.env, "TERM": process.get_terminal_type()})
        os.close(slave)

        async def feed() -> None:
            while True:
                try:
                    data = await process.stdin.read(65536)
                except asyncssh.TerminalSizeChanged as change:
                    set_size(master, change.width, change.height)
                    continue
                if not data:
                    return
                os.write(master, data)

        feeder = asyncio.ensure_future(feed())
        while data := await read_chunk(master):
            process.stdout.write(data)
        status = await local.wait()
        feeder.cancel()
        os.close(master)
        return status

    def app(self, app: str = "t") -> Path:
        """The app layout the code step leaves behind: a live release, env files, a venv with `python`."""
        base = self.tmp / "srv" / app
        (base / "releases" / "abc123").mkdir(parents=True)
        (base / "current").symlink_to("releases/abc123")
        (base / "shared" / "env").mkdir(parents=True)
        (base / "shared" / "env" / "app.env").write_text("GREETING='Hello from the env file'\n")
        (base / "shared" / "env" / "database.env").write_text("DATABASE_URL='postgresql://t@localhost/t'\n")
        (base / "venv" / "bin").mkdir(parents=True)
        python = base / "venv" / "bin" / "python"
        python.write_text('#!/bin/sh\necho "venv python $*"\n')
        python.chmod(0o755)
        return base

    def recipe(self, steps: str = STEPS, extra: str = "") -> Path:
        path = self.tmp / "recipe.yaml"
        path.write_text(f"""version: 1
name: t
target:
  host: 127.0.0.1
  port: {self.port}
  user: alice
  key: {self.client_key_path}
  host_key: {fingerprint_of(self.host_key_line)}
{extra}steps:
{steps}""")
        return path


def set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.fixture
async def server(tmp_path):
    srv = AppServer(tmp_path, nopasswd=True)
    await srv.start()
    yield srv
    srv.server.close()


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_STATE_HOME": str(tmp / "state"),
            "DEPLOY_WIZARD_LANG": "en", **extra}


async def run_cli(srv: AppServer, *argv: str, stdin: bytes = b"", recipe: Path | None = None,
                  **env: str) -> tuple[int, bytes, bytes]:
    """`deploy-wizard run RECIPE -- ARGV` in a subprocess with pipes; this loop serves its SSH meanwhile."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wizard", "run", str(recipe or srv.recipe()), "--", *argv, cwd=ROOT,
        env=cli_env(srv.tmp, **env), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    return process.returncode, out, err


# -- the command the recipe builds ------------------------------------------------------------------------


def test_the_command_runs_as_the_app_user_in_the_live_release_with_env_and_venv(tmp_path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\nname: shop\ntarget: {{host: 10.0.0.1}}\nsteps:\n{STEPS}")
    command = one_off_command(load(recipe), ["python", "manage.py", "shell", "-c", "print('hi'); x = $HOME"])
    assert command.user == "shop"
    text = command.shell()
    assert text.startswith("exec env DW_ENV_DIR=/srv/shop/shared/env DW_RELEASE=/srv/shop/current ")  # no shell waits
    assert 'for f in "$DW_ENV_DIR"/*.env; do [ -r "$f" ] && . "$f"; done' in text  # as the service loads them
    assert 'cd "$DW_RELEASE"' in text and 'PATH="$2/bin:$PATH"; shift 2; exec "$@"' in text
    # every value is one positional word, the command's own quoting intact
    quoted = shlex.join(["print('hi'); x = $HOME"])
    assert text.endswith(f"/srv/shop/venv python manage.py shell -c {quoted}")
    assert command.summary() == f"cd /srv/shop/current && python manage.py shell -c {quoted}"


def test_a_recipe_without_a_code_step_is_bad_input(tmp_path, capsys) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\nname: t\ntarget: {host: 10.0.0.1}\nsteps:\n  deploy_user: {name: shop}\n")
    with pytest.raises(NoAppError):
        one_off_command(load(recipe), ["true"])
    assert main(["--lang", "en", "run", str(recipe), "--", "true"]) == 2  # before any connection is tried
    assert "no code step" in capsys.readouterr().err


def test_a_missing_command_is_bad_input(tmp_path, capsys) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\nname: t\ntarget: {{host: 10.0.0.1}}\nsteps:\n{STEPS}")
    assert main(["--lang", "en", "run", str(recipe)]) == 2
    assert "after `--`" in capsys.readouterr().err
    assert main(["--lang", "en", "run", str(recipe), "--"]) == 2


def test_flags_after_the_file_are_ours_and_words_after_the_dashes_are_the_command() -> None:
    from wizard.cli.parser import split_command

    assert split_command(["--lang", "zh_CN", "run", "f.yaml", "--host", "h", "--", "ls", "--host", "--"]) == (
        ["--lang", "zh_CN", "run", "f.yaml", "--host", "h"], ["ls", "--host", "--"])
    assert split_command(["sandbox", "ssh", "--", "ls"]) == (["sandbox", "ssh", "--", "ls"], None)


def test_output_masking_holds_back_a_secret_split_between_chunks() -> None:
    stream = MaskedStream(Masker([Secret("pw", "pw-123")]))
    assert stream.feed(b"one pw-") == b"one "
    assert stream.feed(b"123 two \xff p") == b"*** two \xff "  # bytes that are not UTF-8 pass as they are
    assert stream.feed(b"", final=True) == b"p"


# -- over SSH, through the CLI ----------------------------------------------------------------------------


async def test_env_release_user_and_venv_on_the_server(server) -> None:
    base = server.app()
    code, out, err = await run_cli(server, "sh", "-c", 'echo "$GREETING"; pwd; command -v python; python -V')
    assert code == 0, err
    assert out.decode().splitlines() == ["Hello from the env file", f"{base}/current", f"{base}/venv/bin/python",
                                         "venv python -V"]
    log = server.sudo_log.read_text()
    assert "-n -u shop -- sh -c" in log and "DW_RELEASE=" in log  # as the app user, through sudo


async def test_exit_code_passes_through(server) -> None:
    server.app()
    assert (await run_cli(server, "sh", "-c", "exit 7"))[0] == 7
    assert (await run_cli(server, "true"))[0] == 0
    assert (await run_cli(server, "sh", "-c", "exit 255"))[0] == 255


async def test_stdin_is_piped_through_and_the_streams_stay_apart(server) -> None:
    server.app()
    data = b"first line\nsecond \xff\xfe line\n" + b"x" * 200_000 + b"\nend\n"
    code, out, err = await run_cli(server, "sh", "-c", "cat; echo to-stderr >&2", stdin=data)
    assert (code, out, err) == (0, data, b"to-stderr\n")


async def test_nothing_live_yet_says_so_instead_of_running_elsewhere(server) -> None:
    code, out, err = await run_cli(server, "pwd")
    assert code == 1 and out == b""
    assert b"no release is live at /srv/t/current yet" in err.replace(str(server.tmp).encode(), b"")


async def test_a_sudo_password_goes_first_and_never_shows(tmp_path) -> None:
    srv = AppServer(tmp_path, nopasswd=False)
    await srv.start()
    srv.app()
    recipe = srv.recipe(extra="  sudo_password: env:T_SUDO\n")
    code, out, err = await run_cli(srv, "sh", "-c", 'cat; echo "pw-12345 seen"', stdin=b"payload\n", recipe=recipe,
                                   T_SUDO="pw-12345")
    assert code == 0, err
    assert out == b"payload\n*** seen\n"  # the command read only its own input; the password is masked
    srv.server.close()


# -- on a terminal ----------------------------------------------------------------------------------------


async def start_on_terminal(srv: AppServer, *argv: str, size: tuple[int, int] = (100, 30)
                            ) -> tuple[asyncio.subprocess.Process, int, int]:
    """The CLI with a pty as its controlling terminal, the way a person runs it; returns it, master, slave."""
    master, slave = pty.openpty()
    set_size(slave, *size)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wizard", "run", str(srv.recipe()), "--", *argv, cwd=ROOT,
        env=cli_env(srv.tmp, TERM="xterm-256color"), stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True, preexec_fn=take_terminal)
    return process, master, slave


async def read_until(master: int, seen: bytearray, wanted: bytes) -> None:
    async def more() -> None:
        while wanted not in seen:
            chunk = await read_chunk(master)
            assert chunk, bytes(seen)
            seen.extend(chunk)

    await asyncio.wait_for(more(), 20)


async def test_on_a_terminal_the_command_gets_one_and_keys_go_through(server) -> None:
    server.app()
    process, master, slave = await start_on_terminal(
        server, "sh", "-c", '[ -t 0 ] && echo "tty: $TERM"; stty size; printf "name? "; read n; echo "hi $n"; '
                            'exit 3')
    cooked = termios.tcgetattr(slave)
    seen = bytearray()
    await read_until(master, seen, b"name? ")
    assert not termios.tcgetattr(slave)[3] & termios.ECHO  # raw here while it runs: the server echoes
    os.write(master, b"bob\r")
    await read_until(master, seen, b"hi bob")
    assert await asyncio.wait_for(process.wait(), 20) == 3
    text = bytes(seen).decode()
    assert "tty: xterm-256color" in text and "30 100" in text
    assert text.count("bob") == 2  # the server's echo and the answer; no local echo
    assert termios.tcgetattr(slave) == cooked  # the terminal is given back as it was
    os.close(master)
    os.close(slave)


async def test_window_size_changes_and_ctrl_c_reach_the_server(server) -> None:
    server.app()
    process, master, slave = await start_on_terminal(
        server, "sh", "-c", "trap 'echo got-INT; exit 5' INT; trap 'stty size' WINCH; echo ready; "
                            "while :; do sleep 0.1; done")
    cooked = termios.tcgetattr(slave)
    seen = bytearray()
    await read_until(master, seen, b"ready")
    set_size(master, 120, 40)  # the window grew: SIGWINCH here, a window-change request there
    await read_until(master, seen, b"40 120")
    os.write(master, b"\x03")  # Ctrl-C is the server's: its shell gets SIGINT, this process carries on
    await read_until(master, seen, b"got-INT")
    assert await asyncio.wait_for(process.wait(), 20) == 5
    assert termios.tcgetattr(slave) == cooked
    os.close(master)
    os.close(slave)


# -- the local transport (the same relay, without a network) ------------------------------------------------


async def test_local_transport_pipes_and_exit_status(tmp_path) -> None:
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    os.write(w_in, b"in\n")
    os.close(w_in)
    transport = LocalTransport(masker=Masker([Secret("token", "s3cret")]))
    code = await transport.interact(cmd("sh", "-c", "cat; echo s3cret >&2; exit 4", root=False),
                                    Console(r_in, w_out, w_err))
    os.close(w_out)
    os.close(w_err)
    assert (code, os.read(r_out, 100), os.read(r_err, 100)) == (4, b"in\n", b"***\n")
    for fd in (r_in, r_out, r_err):
        os.close(fd)


async def test_local_transport_on_a_terminal() -> None:
    master, slave = pty.openpty()
    set_size(slave, 90, 20)
    cooked = termios.tcgetattr(slave)
    job = asyncio.ensure_future(LocalTransport().interact(
        cmd("sh", "-c", 'stty size; printf "? "; read n; echo "got $n"; exit 6', root=False),
        Console(slave, slave, slave, tty=True)))
    seen = bytearray()
    await read_until(master, seen, b"? ")
    os.write(master, b"42\r")
    await read_until(master, seen, b"got 42")
    assert await asyncio.wait_for(job, 20) == 6
    assert b"20 90" in seen and termios.tcgetattr(slave) == cooked
    os.close(master)
    os.close(slave)
