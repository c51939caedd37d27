"""Issue 9, item 5, live: `deploy-wizard run FILE -- CMD` on a real server runs CMD as the app runs it (app user,
live release, env files, venv), passes stdin and the exit code through, and on a terminal is interactive through
the real sshd and sudo: a password prompt reads what is typed, Ctrl-C reaches the command and not the session."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git, git_daemon

APP = '''"""The smallest WSGI app that needs its env file, like a real one (KeyError without GREETING)."""
import os

GREETING = os.environ["GREETING"]


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [GREETING.encode()]
'''


def tiny_repo(base: Path) -> Path:
    """A bare repository with the app committed on main and an empty requirements file."""
    work = base / "work"
    work.mkdir(parents=True)
    (work / "app.py").write_text(APP)
    (work / "requirements.txt").write_text("# nothing: gunicorn comes with the python step\n")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "tiny app", cwd=work)
    bare = base / "srv" / "tiny.git"
    bare.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(work), str(bare), cwd=base)
    return bare


@pytest.fixture(scope="module")
def recipe(box, live_dirs):
    bare = tiny_repo(live_dirs / "git")
    with git_daemon(bare.parent, box.host_ip) as git_url:
        path = write_recipe(live_dirs / "run.yaml", box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: web
  python: {{}}
  code:
    repo: {git_url}/tiny.git
  app_server:
    env: {{GREETING: Hello from the env file}}
""")
        applied = cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)
        failures = [e for e in events(applied) if e["event"] == "step_failed"]
        assert applied.returncode == 0 and finished(applied)["ok"], (failures, applied.stderr[-3000:])
        yield path


def run(live_dirs: Path, recipe: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "wizard", "run", str(recipe), "--", *argv], capture_output=True,
                          text=True, cwd=ROOT, env=env, input=stdin, timeout=120)


def test_as_the_app_user_in_the_live_release_with_its_env(box, live_dirs, recipe) -> None:
    result = run(live_dirs, recipe, "sh", "-c", "echo $GREETING; pwd; pwd -P; id -un; command -v python")
    assert result.returncode == 0, result.stderr
    live = on_box(box, "readlink -f /srv/live/current").stdout.strip()
    assert live.startswith("/srv/live/releases/")
    assert result.stdout.splitlines() == ["Hello from the env file", "/srv/live/current", live, "web",
                                          "/srv/live/venv/bin/python"]


def test_exit_code_and_stdin_pass_through(box, live_dirs, recipe) -> None:
    assert run(live_dirs, recipe, "sh", "-c", "exit 7").returncode == 7
    piped = run(live_dirs, recipe, "python", "-c", "import sys; print(sys.stdin.read().upper(), end='')",
                stdin="one\ntwo\n")
    assert (piped.returncode, piped.stdout) == (0, "ONE\nTWO\n"), piped.stderr
    apart = run(live_dirs, recipe, "sh", "-c", "echo out; echo err >&2")
    assert (apart.stdout, apart.stderr) == ("out\n", "err\n")


PROMPT = """import getpass, time
print("user:", input("Username: "))
print("password has", len(getpass.getpass("Password: ")), "characters")
try:
    print("sleeping", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    print("interrupted in python")
    raise SystemExit(4)
"""


def test_interactive_on_a_terminal(box, live_dirs, recipe) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    cooked = termios.tcgetattr(slave)
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "wizard", "run", str(recipe), "--", "python", "-c", PROMPT],
                               stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True,
                               preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    seen = bytearray()

    def until(wanted: bytes) -> None:
        deadline = time.monotonic() + 60
        while wanted not in seen:
            assert time.monotonic() < deadline, bytes(seen)
            if select.select([master], [], [], 1)[0]:
                seen.extend(os.read(master, 4096))

    try:
        until(b"Username: ")
        os.write(master, b"admin\r")
        until(b"Password: ")
        os.write(master, b"hunter22\r")
        until(b"sleeping")
        os.write(master, b"\x03")
        until(b"interrupted in python")
        assert process.wait(30) == 4
    finally:
        if process.poll() is None:
            process.kill()
    text = bytes(seen).decode(errors="replace")
    assert "user: admin" in text and "password has 8 characters" in text
    assert "hunter22" not in text  # getpass on the server's terminal: no echo anywhere
    assert termios.tcgetattr(slave) == cooked  # this terminal is given back as it was
    os.close(master)
    os.close(slave)
