"""uv, where the operator allows it (python.installer: uv): one pinned release, fetched from PyPI by root, checked
against its SHA-256 before it is kept, and run as the app user to make and fill the venv.

Why a pinned wheel from PyPI and not `pip install uv`: Debian ships no uv, and pip would first need a venv that
ensurepip builds (the slow part uv is there to save). Why pinned: root runs what it fetched, so it runs only the
exact file this release of deploy-wizard names; a newer uv is a new pin here, never a surprise on the server.
Why under /opt/deploy-wizard, root's: the app user runs it but can never replace it (the safety rail "root never
follows a path a less privileged user controls"). The venv it makes is a plain venv with pip seeded into it, so
`venv/bin/pip` and every teaching text about it stay true.
"""

from __future__ import annotations

from typing import Literal

from wizard.engine.commands import Command, cmd
from wizard.engine.i18n import translator
from wizard.engine.step import Context

_ = translator(__file__)

Installer = Literal["pip", "uv"]

VERSION = "0.13.9"
BINARY = f"/opt/deploy-wizard/bin/uv-{VERSION}"  # versioned: a new pin is a new file, fetched once
_FILES = "https://files.pythonhosted.org/packages"
# (machine as `uname -m` prints it, the wheel's address, its SHA-256 as PyPI lists it)
WHEELS = (
    ("x86_64", f"{_FILES}/3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/"
               f"uv-{VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"),
    ("aarch64", f"{_FILES}/fe/2f/51a5de367c602592c018a42a23d57fba5f2689fe6c3bf025dcf043b39c61/"
                f"uv-{VERSION}-py3-none-manylinux_2_28_aarch64.whl",
     "ecb6028d79dc96fbeafffe5c8af62a7099487ebc05a701e76714eebcffd06375"),
)

# Run by the server's python3 (the python step installs it first; no curl or unzip needed), isolated (-I): root
# imports nothing from the working directory or from PYTHON* variables. argv is the binary's path, the version,
# the three messages (translated here), then (machine, url, sha256) triples. The wheel is checked before anything
# is unpacked, and the binary appears at its path in one rename, so a cut-off fetch leaves nothing half-written.
FETCH = """
import hashlib, io, os, platform, sys, tempfile, urllib.request, zipfile
dest, version, no_pin, unfetched, mismatch, *pins = sys.argv[1:]
wheels = {pins[i]: (pins[i + 1], pins[i + 2]) for i in range(0, len(pins), 3)}
machine = platform.machine()
if machine not in wheels:
    sys.exit("deploy-wizard: " + no_pin.format(version=version, machine=machine))
url, sha = wheels[machine]
try:
    data = urllib.request.urlopen(url, timeout=300).read()
except OSError as exc:
    sys.exit("deploy-wizard: " + unfetched.format(url=url, why=exc))
if hashlib.sha256(data).hexdigest() != sha:
    sys.exit("deploy-wizard: " + mismatch.format(url=url, sha=sha))
binary = zipfile.ZipFile(io.BytesIO(data)).read("uv-" + version + ".data/scripts/uv")
os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
with tempfile.NamedTemporaryFile(dir=os.path.dirname(dest), delete=False) as out:
    out.write(binary)
os.chmod(out.name, 0o755)
os.replace(out.name, dest)
""".strip()


def installer(ctx: Context) -> Installer:
    """What the recipe's python step says makes and fills the venv (pip when it has no python step)."""
    chosen = getattr(ctx.settings("python"), "installer", "pip")
    return "uv" if chosen == "uv" else "pip"


def env(ctx: Context) -> dict[str, str]:
    """uv as the app user: its cache in the app's home, the server's CA store (as pip and apt trust it, so a
    proxy with its own CA works), never a Python of its own, and no uv.toml: uv looks for one in the working
    directory and its parents (the login user's home, which the app user may not read), and what it found there
    would change what the recipe installs."""
    return {"HOME": ctx.home, "UV_SYSTEM_CERTS": "1", "UV_NATIVE_TLS": "1", "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_CONFIG": "1"}


def fetch() -> Command:
    """The fetch as it runs; shown with its script named, not printed (its arguments are shown as they are)."""
    messages = (_("no uv {version} is pinned for this CPU ({machine}); set python.installer: pip"),
                _("uv could not be fetched from {url} ({why}); set python.installer: pip, which downloads "
                  "nothing of its own"),
                _("{url} does not have uv's pinned SHA-256 {sha}: it was not kept"))
    pins = tuple(bit for wheel in WHEELS for bit in wheel)
    return cmd("python3", "-I", "-c", FETCH, BINARY, VERSION, *messages, *pins,
               display="python3 -I -c " + _("<fetch the wheel for this CPU from PyPI; keep its uv only if the "
                                                "wheel's SHA-256 is the pinned one>") + f" {BINARY}   # "
                       + ", ".join(f"{machine}: {url} ({sha})" for machine, url, sha in WHEELS))


def installing(ctx: Context, chosen: Installer) -> tuple[tuple[str, ...], dict[str, str]]:
    """The command (before its arguments) and environment that install into the app's venv: uv pip's or pip's.
    One place for both steps that install (python: the server packages; code: the release's dependencies)."""
    if chosen == "uv":
        return pip_install(ctx), env(ctx)
    return (f"{ctx.venv}/bin/pip", "install", "--disable-pip-version-check", "-q"), {"HOME": ctx.home}


def pip_install(ctx: Context) -> tuple[str, ...]:
    """The argv uv installs into the app's venv with: like pip install, byte-compiled as pip does."""
    return (BINARY, "pip", "install", "--quiet", "--compile-bytecode", "--python", f"{ctx.venv}/bin/python")
