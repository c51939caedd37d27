"""Helpers the live tests run on this machine beside a sandbox: a git server with the example app, and
Debian's pebble ACME server standing in for Let's Encrypt (never the real CA in tests)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from wizard.lab import sandbox

EXAMPLE_APP = ROOT / "examples" / "flask-app"
DJANGO_APP = ROOT / "examples" / "django-app"


def free_port() -> int:
    """A port nothing listens on now: services of concurrent test runs never collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.test", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(base: Path, name: str = "demo", source: Path = EXAMPLE_APP) -> tuple[Path, Path]:
    """A work tree with an example app committed on main, and the bare repo git daemon serves."""
    work = base / "work"
    shutil.copytree(source, work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "example app", cwd=work)
    bare = base / "srv" / f"{name}.git"
    bare.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(work), str(bare), cwd=base)
    return work, bare


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
    """pebble + pebble-challtestsrv: every name resolves to the target; http-01 is checked on its port 80."""
    base.mkdir(parents=True, exist_ok=True)
    ca, ca_key = base / "listener-ca.pem", base / "listener-ca.key"
    cert, key = base / "cert.pem", base / "key.pem"
    host_ip = target_ip.rsplit(".", 1)[0] + ".1"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=pebble-listener-ca",
        "-keyout", str(ca_key), "-out", str(ca))
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pebble", "-keyout", str(key),
        "-out", str(base / "cert.csr"))
    (base / "san.ext").write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{host_ip}\n")
    run("openssl", "x509", "-req", "-in", str(base / "cert.csr"), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "30", "-extfile", str(base / "san.ext"), "-out", str(cert))
    acme_port, management, dns, dns_management = free_port(), free_port(), free_port(), free_port()
    (base / "management-port").write_text(str(management))
    (base / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": f"0.0.0.0:{acme_port}", "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": str(cert), "privateKey": str(key), "httpPort": 80, "tlsPort": 443,
        "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
    resolver = subprocess.Popen(["pebble-challtestsrv", "-defaultIPv4", target_ip, "-defaultIPv6", "", "-dns01",
                                 f"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
                                 "-management", f"127.0.0.1:{dns_management}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    acme = subprocess.Popen(["pebble", "-config", str(base / "pebble.json"), "-dnsserver", f"127.0.0.1:{dns}"],
                            env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PATH": "/usr/bin:/bin"},
                            stdout=open(base / "pebble.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    context = ssl.create_default_context(cafile=str(ca))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{acme_port}/dir", context=context, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield {"directory": f"https://{host_ip}:{acme_port}/dir", "listener_ca": ca.read_text(),
               "log": str(base / "pebble.log"), "dns_management": str(dns_management)}
    finally:
        for proc in (acme, resolver):
            proc.terminate()
            proc.wait(5)


def pebble_root(base: Path) -> str:
    """The root that signs pebble's certificates (fetched from its management API; new on every start)."""
    context = ssl.create_default_context(cafile=str(base / "listener-ca.pem"))
    port = (base / "management-port").read_text().strip()
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/roots/0", context=context, timeout=5) as answer:
        return answer.read().decode()


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
    return text.replace("10.99.1.2", ip)


DJANGO_DOMAIN = "shop.example.test"


def django_recipe_text(git_url: str, acme: dict[str, str], ip: str) -> str:
    """examples/django-app.yaml pointed at this lab."""
    text = (ROOT / "examples" / "django-app.yaml").read_text()
    text = text.replace("git://10.99.1.1/", f"{git_url}/").replace("https://10.99.1.1:14000/dir", acme["directory"])
    return text.replace("10.99.1.2", ip)


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
    """What a sandbox needs around it for the example recipes: its app's repository served over git://, and a
    test CA it trusts whose resolver points the app's domain at it."""

    work: Path
    bare: Path
    git_url: str
    acme: dict[str, str]
    pebble_dir: Path

    def root_ca(self, path: Path) -> Path:
        """Pebble's root (new on every start) written to `path`, for curl's --cacert."""
        path.write_text(pebble_root(self.pebble_dir))
        return path


@contextmanager
def lab(box: sandbox.SandboxInfo, base: Path, *, source: Path = EXAMPLE_APP, name: str = "demo",
        domain: str = FLASK_DOMAIN) -> Iterator[Lab]:
    work, bare = make_repo(base / "git", name, source)
    with git_daemon(bare.parent, box.host_ip) as git_url, pebble(base / "pebble", box.ip) as acme:
        prepare_for_certificates(box, acme, domain)
        yield Lab(work, bare, git_url, acme, base / "pebble")
