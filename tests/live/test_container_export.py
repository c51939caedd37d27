"""`export --format container`, built and run for real with Debian's podman (tutorial 1.2).

No registry is reachable here: the base image is the sandbox's own Debian rootfs (wizard/lab/image.py), imported
and tagged as exactly the image the export's FROM names, so the export builds unmodified. Packages come from
Debian's mirror and PyPI through the host's network (`--network host`), not from the sandbox. The example Flask
app is built from its checkout with the three targets, run in one pod as the compose file describes (its
services, environment and secrets read from compose.yaml), and checked the way a user would: the page and a
static file through the container's nginx, the migration's table in PostgreSQL, and no secret in
`podman image inspect` or `podman history` of any image. The Django example (collectstatic at build time, its
SECRET_KEY and ALLOWED_HOSTS from the environment) is built and checked the same way: 30 s after the Flask build,
whose layers it shares (98 s alone), measured on a busy machine.

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
from dataclasses import dataclass
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
    run("rmi", "-f", *(f"{app}-{name}" for app in ("demo", "shop") for name in ("app", "web", "db")), check=False)
    run("image", "prune", "-f", check=False)  # the build's untagged layers; the imported base image stays


def _env(service: dict, values: dict[str, str]) -> list[str]:
    """The service's environment as -e flags, with ${VAR:?...} read from `values` as compose would."""
    flags = []
    for name, value in (service.get("environment") or {}).items():
        text = re.sub(r"\$\{([A-Z0-9_]+)(:\?[^}]*)?\}", lambda m: values[m.group(1)], str(value))
        flags += ["-e", f"{name}={text}"]
    return flags


def _get(path: str, host: str | None = None) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers={"Host": host} if host else {})
    for _attempt in range(90):  # nginx, gunicorn and PostgreSQL start in parallel: the app waits for migrations
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            time.sleep(1)
    raise AssertionError(f"no answer from {path} through the container's nginx")


@dataclass(frozen=True)
class Example:
    """An example app, its recipe, and what its page and static file say once it serves."""

    name: str  # the recipe's app name: the images are NAME-app, NAME-web, NAME-db
    secrets: tuple[str, ...]
    host: str | None  # the Host the app accepts (Django's ALLOWED_HOSTS)
    page: tuple[str, ...]
    static: tuple[str, str]  # a path, and words in it
    rows: str  # SQL counting the rows a migration made


FLASK = Example("demo", ("DEMO_DB_PASSWORD",), None, ("Hello from deploy-wizard", "visits: "),
                ("/static/style.css", "h1 {"), "select count(*) from visits")
DJANGO = Example("shop", ("SHOP_DB_PASSWORD", "SHOP_SECRET_KEY"), "shop.example.test",
                 ("Hello from Django.", "notes: "), ("/static/css/site.css", "{"),
                 "select count(*) from django_migrations where app = 'notes'")


@pytest.mark.parametrize("example", [pytest.param(FLASK, id="flask"), pytest.param(DJANGO, id="django")])
def test_the_export_builds_and_serves_the_app_through_nginx(podman, tmp_path, example):
    checkout = tmp_path / example.name
    app_dir = "flask-app" if example is FLASK else "django-app"
    shutil.copytree(ROOT / "examples" / app_dir, checkout)
    values = {name: SECRET + name.lower() for name in example.secrets}
    done = subprocess.run([sys.executable, "-m", "wizard", "export", str(ROOT / "examples" / f"{app_dir}.yaml"),
                           "--format", "container", "-o", "deploy"], cwd=checkout, capture_output=True, text=True,
                          env=dict(os.environ, **values))
    assert done.returncode == 0, done.stderr
    containerfile = (checkout / "deploy" / "Containerfile").read_text()
    assert f"FROM {BASE_IMAGE} AS base" in containerfile and SECRET not in containerfile
    compose = yaml.safe_load((checkout / "deploy" / "compose.yaml").read_text())
    assert SECRET not in (checkout / "deploy" / "compose.yaml").read_text()

    images = {name: f"{example.name}-{name}" for name in ("app", "web", "db")}
    for name, tag in images.items():  # the export unmodified, from the checkout, no registry
        target = compose["services"][name]["build"]["target"]
        podman("build", "--network", "host", "-f", "deploy/Containerfile", "--target", target, "-t", tag,
               str(checkout))
    podman("pod", "rm", "-f", POD, check=False)
    podman("pod", "create", "--name", POD, "-p", f"127.0.0.1:{PORT}:80",
           "--add-host", "app:127.0.0.1", "--add-host", "db:127.0.0.1")  # compose's service names, in one pod
    for name in ("db", "app", "web"):
        podman("run", "-d", "--pod", POD, "--name", f"{POD}-{name}", *_env(compose["services"][name], values),
               images[name])

    page = _get("/", example.host)
    assert all(words in page for words in example.page), page  # the app, its env, its database
    path, words = example.static
    assert words in _get(path, example.host)  # collected at build time, served by nginx
    rows = podman("exec", f"{POD}-db", "psql", "-h", "/tmp", "-d", example.name, "-tAc", example.rows)
    assert int(rows.strip()) >= 1  # the migration ran
    for tag in images.values():
        seen = podman("image", "inspect", tag) + podman("history", "--no-trunc", tag)
        assert SECRET not in seen, tag
