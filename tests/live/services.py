"""Helpers the live tests run on this machine beside a sandbox: a git server with the example app, and
Debian's pebble ACME server standing in for Let's Encrypt (never the real CA in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from wizard.lab import practice, sandbox

EXAMPLE_APP = ROOT / "examples" / "flask-app"
DJANGO_APP = ROOT / "examples" / "django-app"


free_port = practice.free_port
git = practice.git


def make_repo(base: Path, name: str = "demo", source: Path = EXAMPLE_APP) -> tuple[Path, Path]:
    """A work tree with an example app committed on main, and the bare repo git daemon serves."""
    return practice.make_repo(base, name, source)


def push_change(work: Path, bare: Path, path: str, text: str) -> str:
    (work / path).write_text(text)
    git("commit", "-q", "-am", f"change {path}", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@contextmanager
def git_daemon(root: Path, listen: str) -> Iterator[str]:
    """Serve the bare repositories under `root`; yields the git:// URL prefix."""
    port = free_port()
    proc = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}",
                             f"--listen={listen}", f"--port={port}", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield f"git://{listen}:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


@contextmanager
def pebble(base: Path, target_ip: str) -> Iterator[dict[str, str]]:
    """The practice lab's test CA alone (wizard/lab/practice.py), on the host side of `target_ip`'s network:
    pebble + pebble-challtestsrv, every name resolving to the target, http-01 checked on its port 80."""
    host_ip = target_ip.rsplit(".", 1)[0] + ".1"
    served = practice.start(base, host_ip, target_ip, repos={})
    try:
        yield {"directory": served.acme_directory, "listener_ca": served.listener_ca,
               "dns_management": str(served.dns_management)}
    finally:
        practice.stop(base)


def pebble_root(base: Path) -> str:
    """The root that signs pebble's certificates (new on every start)."""
    served = practice.load(base)
    assert served is not None, f"no lab at {base}"
    return served.root_ca()


def point_names_at(acme: dict[str, str], ip: str) -> None:
    """Make pebble's resolver answer every name with `ip`: the next server to ask for a certificate."""
    request = urllib.request.Request(f"http://127.0.0.1:{acme['dns_management']}/set-default-ipv4",
                                     data=json.dumps({"ip": ip}).encode(), method="POST")
    urllib.request.urlopen(request, timeout=5).close()


FLASK_DOMAIN = "demo.example.test"
ANSIBLE_PLAYBOOK = Path(os.environ.get("DW_ANSIBLE_VENV", "/var/cache/deploy-wizard/ansible-venv")) / "bin" / \
    "ansible-playbook"  # scripts/setup.sh installs ansible-core there


def flask_recipe_text(git_url: str, acme: dict[str, str], ip: str) -> str:
    """examples/flask-app.yaml pointed at this lab: its git server, its pebble, the sandbox at `ip`."""
    text = (ROOT / "examples" / "flask-app.yaml").read_text()
    text = text.replace("git://10.99.1.1/", f"{git_url}/").replace("https://10.99.1.1:14000/dir", acme["directory"])
    return short_watch(text.replace("10.99.1.2", ip))


def short_watch(text: str) -> str:
    """Each new release watched for 5 s instead of 30: the watch itself is proven in test_release_switch, and
    the default would add minutes to every module that deploys several releases."""
    assert "  app_server:\n" in text
    return text.replace("  app_server:\n", "  app_server:\n    watch: 5\n", 1)


DJANGO_DOMAIN = "shop.example.test"


def django_recipe_text(git_url: str, acme: dict[str, str], ip: str) -> str:
    """examples/django-app.yaml pointed at this lab, without the package updates: what these tests prove is the
    Django side (migrations, static files, releases, cuts), and the updates' seconds would be spent in every one
    of their first applies (the Flask example's tests run them)."""
    text = (ROOT / "examples" / "django-app.yaml").read_text()
    assert "    upgrade: upgrade" in text
    text = text.replace("    upgrade: upgrade", "    upgrade: none")
    text = text.replace("git://10.99.1.1/", f"{git_url}/").replace("https://10.99.1.1:14000/dir", acme["directory"])
    return short_watch(text.replace("10.99.1.2", ip))


def prepare_for_certificates(box: sandbox.SandboxInfo, acme: dict[str, str], domain: str = FLASK_DOMAIN) -> None:
    """What a sandbox needs before it asks pebble for a certificate: pebble's names resolve to it, its own
    /etc/hosts too, and it trusts pebble's listener (DNS and trust are the lab's, not the recipe's)."""
    point_names_at(acme, box.ip)
    subprocess.run(sandbox.ssh_command(box.name, "root", [
        "cat > /usr/local/share/ca-certificates/pebble-listener.crt && update-ca-certificates >/dev/null && "
        f"echo '{box.ip} {domain}' >> /etc/hosts"]), input=acme["listener_ca"], text=True, check=True,
        capture_output=True, timeout=120)


@dataclass
class Lab:
    """The practice lab (`deploy-wizard sandbox up --lab`'s own code) around a test's sandbox: its app's
    repository served over git://, and a test CA it trusts whose resolver points the app's domain at it."""

    served: practice.Lab
    name: str

    @property
    def work(self) -> Path:
        return self.served.work_tree(self.name)

    @property
    def bare(self) -> Path:
        return self.served.bare(self.name)

    @property
    def git_url(self) -> str:
        return self.served.git_url

    @property
    def acme(self) -> dict[str, str]:
        return {"directory": self.served.acme_directory, "listener_ca": self.served.listener_ca,
                "dns_management": str(self.served.dns_management)}

    def root_ca(self, path: Path) -> Path:
        """Pebble's root (new on every start) written to `path`, for curl's --cacert."""
        path.write_text(self.served.root_ca())
        return path


@contextmanager
def lab(box: sandbox.SandboxInfo, base: Path, *, source: Path = EXAMPLE_APP, name: str = "demo",
        domain: str = FLASK_DOMAIN) -> Iterator[Lab]:
    served = practice.start(base / "lab", box.host_ip, box.ip, repos={name: source})
    try:
        practice.trust(served, sandbox.ssh_command(box.name, "root"), box.ip, (domain,))
        yield Lab(served, name)
    finally:
        practice.stop(base / "lab")
