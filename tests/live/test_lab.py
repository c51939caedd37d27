"""Issue 10, item 5, live: the whole tutorial straight from the README. `deploy-wizard sandbox up --lab` boots a
Debian 13 server with the practice lab beside it; the apply command it prints runs examples/flask-app.yaml as it
is; the site answers over HTTPS, and the example's own health check passes on the server (it trusts the lab's
test CA). `sandbox down` stops the lab with the sandbox. A new operator's own project (README, *Your own project
on the practice server*): the name `--domain` gives resolves on the server, a bare repository put where `up`
says is served, and a plan for a name the server cannot resolve warns before anything runs."""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
from pathlib import Path

from tests.live.conftest import cli, require_sandbox
from wizard.lab import sandbox
from wizard.lab.host import alive


def own_project(live_dirs: Path, name: str, printed: str, apply_args: list[str], env: dict[str, str]) -> None:
    """What `up` tells a new operator about their own project holds on the server it booted."""
    ip = re.search(r"^\s*address\s+(\S+)", printed, re.M).group(1)  # type: ignore[union-attr]
    resolved = subprocess.run(sandbox.ssh_command(name, "root", ["getent ahosts books.example.test"]),
                              capture_output=True, text=True, timeout=60)
    assert resolved.stdout.split()[:1] == [ip], resolved.stdout + resolved.stderr
    where = re.search(r"git clone --bare PATH (\S+)/REPO\.git` serves it as (\S+)/REPO\.git", printed)
    assert where, printed
    work = live_dirs / "bookshelf"
    work.mkdir()
    (work / "manage.py").write_text("# a new operator's own project\n")
    for git in (["init", "-q", "-b", "main"], ["add", "."], ["-c", "user.name=nu", "-c", "user.email=nu@example.test",
                                                            "commit", "-q", "-m", "v1"],
                ["clone", "-q", "--bare", str(work), f"{where.group(1)}/bookshelf.git"]):
        subprocess.run(["git", *git], cwd=work, check=True, capture_output=True, timeout=60)
    served = subprocess.run(sandbox.ssh_command(name, "admin", [f"git ls-remote {where.group(2)}/bookshelf.git"]),
                            capture_output=True, text=True, timeout=60)
    assert "refs/heads/main" in served.stdout, served.stdout + served.stderr

    plan = ["plan", *(a for a in apply_args[1:] if a != "--yes"), "--set", "nginx.server_names=nope.example.test"]
    for lang, said in (("en", "! nope.example.test does not resolve on the server yet: the certificate's preflight "
                              "will stop the run there"),
                       ("zh_CN", "! nope.example.test 在服务器上还无法解析：证书的预检会让运行在那里停下")):
        warned = cli(live_dirs, *plan, "--lang", lang, env=env)
        assert warned.returncode == 0 and said in warned.stdout, warned.stdout[-3000:] + warned.stderr[-2000:]


def second_name(live_dirs: Path, apply_line: str, curl_line: str, env: dict[str, str]) -> None:
    """A name added to the site (one the server resolves: `up --domain`) gets HTTPS too, with the same certificate
    extended: a browser refuses a name the certificate lacks."""
    more = [*shlex.split(apply_line), "--set", "nginx.server_names=demo.example.test, books.example.test"]
    extended = cli(live_dirs, *more, env=env, timeout=600)
    assert extended.returncode == 0, extended.stdout[-4000:] + extended.stderr[-2000:]
    assert "renew or extend the certificate for demo.example.test, books.example.test" in extended.stdout
    curl = [w.replace("demo.example.test", "books.example.test") for w in shlex.split(curl_line)]
    page = subprocess.run(curl, capture_output=True, text=True, timeout=60)
    assert "Hello from deploy-wizard" in page.stdout, page.stdout + page.stderr
    again = cli(live_dirs, *more, env=env, timeout=600)
    assert again.returncode == 0 and "OK: 0 changes" in again.stdout, again.stdout[-3000:]


def test_sandbox_up_lab_runs_the_flask_example_as_it_is(live_dirs) -> None:
    require_sandbox()
    name = "lab" + secrets.token_hex(3)
    up = cli(live_dirs, "sandbox", "up", "--lab", "--domain", "books.example.test", "--name", name, timeout=600)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        assert "Debian 13 (trixie)" in up.stdout and "The practice lab runs beside it" in up.stdout
        printed = re.search(r"^\s*(DEMO_DB_PASSWORD=\S+) deploy-wizard (apply examples/flask-app\.yaml.*)$",
                            up.stdout, re.M)
        assert printed, up.stdout
        password = printed.group(1).split("=", 1)[1]
        apply = cli(live_dirs, *shlex.split(printed.group(2)), env={"DEMO_DB_PASSWORD": password}, timeout=1500)
        assert apply.returncode == 0, apply.stdout[-4000:] + apply.stderr[-2000:]

        curl = re.search(r"^\s*(curl --cacert .*)$", up.stdout, re.M)
        assert curl, up.stdout
        page = subprocess.run(shlex.split(curl.group(1)), capture_output=True, text=True, timeout=60)
        assert "Hello from deploy-wizard" in page.stdout, page.stdout + page.stderr
        health = subprocess.run(sandbox.ssh_command(name, "root", [
            "systemctl start demo-health.service; systemctl show -p Result --value demo-health.service"]),
            capture_output=True, text=True, timeout=120)
        assert health.stdout.strip() == "success", health.stdout + health.stderr

        again = cli(live_dirs, *shlex.split(printed.group(2)), env={"DEMO_DB_PASSWORD": password}, timeout=600)
        assert again.returncode == 0 and "OK: 0 changes" in again.stdout, again.stdout[-3000:]
        lab = sandbox.practice.load(sandbox.lab_dir(name))
        assert lab is not None and lab.pids
        second_name(live_dirs, printed.group(2), curl.group(1), {"DEMO_DB_PASSWORD": password})
        own_project(live_dirs, name, up.stdout, shlex.split(printed.group(2)), {"DEMO_DB_PASSWORD": password})
    finally:
        down = cli(live_dirs, "sandbox", "down", name)
    assert down.returncode == 0, down.stderr
    assert not sandbox.lab_dir(name).exists()
    assert all(not alive(pid) for pid in lab.pids)  # git daemon, pebble and its resolver stopped
