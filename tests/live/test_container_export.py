"""`export --format container`, built and run for real with Debian's podman (tutorial 1.2).

No registry is reachable here: the base image is the sandbox's own Debian rootfs (wizard/lab/image.py), imported
and tagged as exactly the image the export's FROM names, so the export builds unmodified. Packages come from
Debian's mirror and PyPI through the host's network (`--network host`), not from the sandbox. The example Flask
app is built from its checkout with the three targets, run in one pod as the compose file describes (its
services, environment and secrets read from compose.yaml), and checked the way a user would: the page and a
static file through the container's nginx, the migration's table in PostgreSQL, and no secret in
`podman image inspect` or `podman history` of any image.

This machine's podman needs two settings (given in a containers.conf for the test only): runc, because crun
refuses a host with hybrid cgroups, and ulimits within the hard limits, because the container runs without
CAP_SYS_RESOURCE and podman's default nofile/nproc limits cannot be set. About 2.5 minutes on 2 cores.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from wizard.app.exports.container import BASE_IMAGE
from wizard.lab import image

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Pw-goals-" + os.urandom(6).hex()
POD = "dw-test-container-export"
PORT = 18765

pytestmark = pytest.mark.live


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("DEPLOY_WIZARD_REQUIRE_LIVE") == "1":
        pytest.fail(f"the container export test is required here but cannot run: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory):
    _need(shutil.which("podman") is not None, "podman is not installed (scripts/setup.sh --test installs it)")
    _need(os.geteuid() == 0, "needs root (podman's storage and port publishing)")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    nofile = min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    conf.write_text(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
                    + ('[engine]\nruntime = "runc"\n' if shutil.which("runc") else ""))
    env = dict(os.environ, CONTAINERS_CONF=str(conf))

    def run(*args: str, check: bool = True, stdin: int | None = None) -> str:
        done = subprocess.run(["podman", *args], env=env, stdin=stdin, capture_output=True, text=True, timeout=900)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {done.returncode}\n{done.stdout[-3000:]}\n"
                                 f"{done.stderr[-3000:]}")
        return done.stdout

    rootfs = image.ensure_image("trixie", progress=lambda message: None)
    key = image.image_key("trixie")
    have = run("image", "inspect", "--format", '{{ index .Labels "deploy-wizard.image" }}', BASE_IMAGE, check=False)
    if have.strip() != key:  # import the sandbox's rootfs once per image key
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run("import", "--change", f"LABEL deploy-wizard.image={key}", "-", BASE_IMAGE, stdin=tar.stdout)
        assert tar.wait() == 0
    run("pod", "rm", "-f", POD, check=False)
    yield run
    run("pod", "rm", "-f", POD, check=False)
    run("rmi", "-f", "demo-app", "demo-web", "demo-db", check=False)
    run("image", "prune", "-f", check=False)  # the build's untagged layers; the imported base image stays


def _env(service: dict, values: dict[str, str]) -> list[str]:
    """The service's environment as -e flags, with ${VAR:?...} read from `values` as compose would."""
    flags = []
    for name, value in (service.get("environment") or {}).items():
        text = re.sub(r"\$\{([A-Z0-9_]+)(:\?[^}]*)?\}", lambda m: values[m.group(1)], str(value))
        flags += ["-e", f"{name}={text}"]
    return flags


def _get(path: str) -> str:
    for _attempt in range(60):  # nginx, gunicorn and PostgreSQL start in parallel: the app waits for migrations
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            time.sleep(1)
    raise AssertionError(f"no answer from {path} through the container's nginx")


def test_the_export_builds_and_serves_the_app_through_nginx(podman, tmp_path):
    checkout = tmp_path / "demo"
    shutil.copytree(ROOT / "examples" / "flask-app", checkout)
    done = subprocess.run([sys.executable, "-m", "wizard", "export", str(ROOT / "examples" / "flask-app.yaml"),
                           "--format", "container", "-o", "deploy"], cwd=checkout, capture_output=True, text=True,
                          env=dict(os.environ, DEMO_DB_PASSWORD=SECRET))
    assert done.returncode == 0, done.stderr
    containerfile = (checkout / "deploy" / "Containerfile").read_text()
    assert f"FROM {BASE_IMAGE} AS base" in containerfile and SECRET not in containerfile
    compose = yaml.safe_load((checkout / "deploy" / "compose.yaml").read_text())
    assert SECRET not in (checkout / "deploy" / "compose.yaml").read_text()

    for name in ("app", "web", "db"):  # the export unmodified, from the checkout, no registry
        target = compose["services"][name]["build"]["target"]
        podman("build", "--network", "host", "-f", "deploy/Containerfile", "--target", target,
               "-t", f"demo-{name}", str(checkout))
    podman("pod", "create", "--name", POD, "-p", f"127.0.0.1:{PORT}:80",
           "--add-host", "app:127.0.0.1", "--add-host", "db:127.0.0.1")  # compose's service names, in one pod
    values = {"DEMO_DB_PASSWORD": SECRET}
    for name in ("db", "app", "web"):
        podman("run", "-d", "--pod", POD, "--name", f"{POD}-{name}", *_env(compose["services"][name], values),
               f"demo-{name}")

    page = _get("/")
    assert "Hello from deploy-wizard" in page and "visits: " in page  # the app, its env, its database
    assert "h1 {" in _get("/static/style.css")  # collected at build time, served by nginx
    tables = podman("exec", f"{POD}-db", "psql", "-h", "/tmp", "-d", "demo", "-tAc",
                    "select count(*) from visits")
    assert int(tables.strip()) >= 1  # the migration made the table the page writes to
    for name in ("app", "web", "db"):
        seen = podman("image", "inspect", f"demo-{name}") + podman("history", "--no-trunc", f"demo-{name}")
        assert SECRET not in seen, name
