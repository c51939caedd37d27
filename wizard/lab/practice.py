"""The practice lab around a sandbox: the example apps served over git, and a test CA the sandbox trusts.

Why: the example recipes deploy real code from a git server and get a real certificate over ACME, as the
tutorial does. A practice server has neither a public git host nor Let's Encrypt, so the lab stands in for both,
on this machine's end of the sandbox's network (``10.99.N.1``):

- ``git://10.99.N.1/demo.git`` and ``shop.git``: the example apps (``examples/flask-app``, ``examples/django-app``),
  each committed on ``main`` in a work tree under the lab directory, so a learner can change them and push;
- ``https://10.99.N.1:14000/dir``: Debian's ``pebble`` (an ACME server made for testing) with its resolver,
  ``pebble-challtestsrv``, answering every name with the sandbox's address, so http-01 reaches its nginx.

The sandbox trusts pebble's listener CA (certbot talks HTTPS to it) and the root pebble signs with (so the
health check and curl on the server accept the site's certificate), and resolves the example domains to itself.

The processes run detached with their pids under ``run/<name>/lab/``: they live as long as the sandbox, and
``sandbox down`` stops them (``stop``). Tests use the same code with a ``base`` of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wizard.engine.i18n import _
from wizard.lab.host import SandboxError, alive, run_checked

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The repositories the example recipes clone, and the domains they serve (resolved to the sandbox on the sandbox).
EXAMPLE_REPOS = {"demo": EXAMPLES / "flask-app", "shop": EXAMPLES / "django-app"}
EXAMPLE_DOMAINS = ("demo.example.test", "shop.example.test")

ACME_PORT = 14000
GIT_PORT = 9418


@dataclass
class Lab:
    """Where the lab serves and what the sandbox must trust; saved as ``lab.json`` beside its pids."""

    base: str
    git_url: str  # "git://10.99.N.1:9418", the repositories are "<git_url>/<name>.git"
    acme_directory: str
    listener_ca: str  # PEM: the CA of pebble's own HTTPS listener
    dns_management: int  # pebble-challtestsrv's management port (127.0.0.1): which address names resolve to
    management: int  # pebble's management port (127.0.0.1): its signing root
    pids: list[int] = field(default_factory=list)

    def work_tree(self, repo: str) -> Path:
        """The example's work tree: commit there and `push` to deploy a change."""
        return Path(self.base) / "git" / "work" / repo

    def bare(self, repo: str) -> Path:
        return Path(self.base) / "git" / "srv" / f"{repo}.git"

    @property
    def ca_file(self) -> Path:
        """Both CAs the sandbox trusts, in one PEM file, for this machine's curl (`--cacert`)."""
        return Path(self.base) / "trusted-ca.pem"

    def root_ca(self) -> str:
        """The root pebble signs certificates with: new on every start, so read from pebble itself."""
        context = ssl.create_default_context(cadata=self.listener_ca)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.management}/roots/0", context=context,
                                    timeout=5) as answer:
            return answer.read().decode()


def free_port() -> int:
    """A port nothing listens on now, for the loopback-only management ports of concurrent labs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(*args: str, cwd: Path) -> str:
    """git with a fixed identity and no user config: the lab's commits look the same on every machine."""
    env = {"GIT_AUTHOR_NAME": "deploy-wizard lab", "GIT_AUTHOR_EMAIL": "lab@example.test",
           "GIT_COMMITTER_NAME": "deploy-wizard lab", "GIT_COMMITTER_EMAIL": "lab@example.test",
           "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(base: Path, name: str, source: Path) -> tuple[Path, Path]:
    """A work tree with `source` committed on main, and the bare repository git daemon serves."""
    work = base / "git" / "work" / name
    shutil.copytree(source, work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "example app", cwd=work)
    bare = base / "git" / "srv" / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", "--bare", str(work), str(bare), cwd=base)
    git("remote", "add", "lab", str(bare), cwd=work)
    return work, bare


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start a lab process in its own session (it outlives the CLI) with its output in `log`."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    return proc.pid


def _certificates(base: Path, host_ip: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and the certificate pebble's HTTPS listener presents at `host_ip`."""
    ca, ca_key, cert, key = base / "listener-ca.pem", base / "listener-ca.key", base / "cert.pem", base / "key.pem"
    run_checked(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                 "-subj", "/CN=deploy-wizard practice CA", "-keyout", str(ca_key), "-out", str(ca)])
    run_checked(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pebble", "-keyout", str(key),
                 "-out", str(base / "cert.csr")])
    (base / "san.ext").write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{host_ip}\n")
    run_checked(["openssl", "x509", "-req", "-in", str(base / "cert.csr"), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "365", "-extfile", str(base / "san.ext"), "-out", str(cert)])
    return ca, cert, key


def _wait_for(url: str, context: ssl.SSLContext | None, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, context=context, timeout=1).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SandboxError(_("{what} did not start: {why}").format(what=what, why=exc)) from None
            time.sleep(0.1)


def _wait_for_port(host: str, port: int, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SandboxError(_("{what} did not start: {why}").format(what=what, why=exc)) from None
            time.sleep(0.1)


def start(base: Path, host_ip: str, target_ip: str, repos: dict[str, Path] | None = None,
          git_port: int = GIT_PORT, acme_port: int = ACME_PORT) -> Lab:
    """Serve the repositories and a test CA on `host_ip`; every name resolves to `target_ip` for pebble."""
    missing = [tool for tool in ("git", "pebble", "pebble-challtestsrv", "openssl") if not shutil.which(tool)]
    if missing:
        raise SandboxError(_("The practice lab needs {tools}: apt-get install git pebble openssl").format(
            tools=", ".join(missing)))
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    os.chmod(base, 0o700)
    repos = EXAMPLE_REPOS if repos is None else repos
    for name, source in repos.items():
        make_repo(base, name, source)
    ca, cert, key = _certificates(base, host_ip)
    git_url = f"git://{host_ip}" + ("" if git_port == GIT_PORT else f":{git_port}")
    lab = Lab(base=str(base), git_url=git_url, acme_directory=f"https://{host_ip}:{acme_port}/dir",
              listener_ca=ca.read_text(), dns_management=free_port(), management=free_port())
    dns = free_port()

    def spawn(argv: list[str], log: str, env: dict[str, str] | None = None) -> None:
        lab.pids.append(_spawn(argv, base / log, env))
        (base / "lab.json").write_text(json.dumps(asdict(lab), indent=2))  # at once: `stop` must find every pid

    try:
        if repos:  # a test CA alone (tests, benchmarks) serves no repositories
            spawn(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base / 'git/srv'}",
                   f"--listen={host_ip}", f"--port={git_port}", str(base / "git/srv")], "git.log")
        spawn(["pebble-challtestsrv", "-defaultIPv4", target_ip, "-defaultIPv6", "",
                                "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
                                "-management", f"127.0.0.1:{lab.dns_management}"], "challtestsrv.log")
        (base / "pebble.json").write_text(json.dumps({"pebble": {
            "listenAddress": f"{host_ip}:{acme_port}", "managementListenAddress": f"127.0.0.1:{lab.management}",
            "certificate": str(cert), "privateKey": str(key), "httpPort": 80, "tlsPort": 443,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        spawn(["pebble", "-config", str(base / "pebble.json"), "-dnsserver", f"127.0.0.1:{dns}"], "pebble.log",
              env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PATH": "/usr/bin:/bin"})
        _wait_for(f"https://{host_ip}:{acme_port}/dir", ssl.create_default_context(cadata=lab.listener_ca),
                  _("The test CA (pebble)"))
        if repos:
            _wait_for_port(host_ip, git_port, _("The git server"))
    except (OSError, subprocess.CalledProcessError, SandboxError):
        stop(base)
        raise
    return lab


def resolved(domains: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names a lab's server resolves to itself: the examples' and `up --domain`'s, each once, in that order."""
    return tuple(dict.fromkeys((*EXAMPLE_DOMAINS, *domains)))


def trust(lab: Lab, ssh: list[str], target_ip: str, domains: tuple[str, ...] = EXAMPLE_DOMAINS) -> None:
    """Make the sandbox trust the lab's CAs and resolve `domains` (the example ones, and any `up --domain`) to itself
    (ssh: argv up to the command). Why: the tls step's preflight asks the server's own resolver first."""
    script = ("set -e; cat > /usr/local/share/ca-certificates/deploy-wizard-lab.crt; "
              "update-ca-certificates >/dev/null; "
              + "".join(f"grep -q ' {d}$' /etc/hosts || echo '{target_ip} {d}' >> /etc/hosts; " for d in domains))
    lab.ca_file.write_text(lab.listener_ca + lab.root_ca())
    proc = subprocess.run([*ssh, script], input=lab.ca_file.read_text(), text=True, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise SandboxError(_("Could not make the sandbox trust the test CA: {why}").format(why=proc.stderr.strip()))


def load(base: Path) -> Lab | None:
    """The lab serving beside a sandbox, or None when it has none."""
    try:
        return Lab(**json.loads((base / "lab.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stop(base: Path) -> None:
    """Stop the lab's processes (each in its own session) and remove its files."""
    lab = load(base)
    pids = lab.pids if lab else []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.killpg(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.05)
    shutil.rmtree(base, ignore_errors=True)

