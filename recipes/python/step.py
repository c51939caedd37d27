"""Step python: the interpreter from the distribution, and a virtual environment owned by the app user."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field

from recipes.python.facts import OsRelease, SystemPython, VenvPackages, VenvPython, normalize
from recipes.shared import guards, uv
from recipes.shared.apt import APT_ENV, apt_update, install_missing
from recipes.shared.common import app_dirs, dir_facts, ensure_dirs
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, PackagesInstalled, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import Change, Check, Context, Ok, PlanError, RunCommand, Step, StepSettings, Teaching

_ = translator(__file__)

_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]*(\[[A-Za-z0-9,._\-]+\])?((==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!\-]+)?$")
_VERSION = re.compile(r"^(system|3\.[0-9]{1,2})$")


def requirement(value: str) -> str:
    if not _REQUIREMENT.match(value):
        raise ValueError(_("'{v}' is not a pip requirement like gunicorn or gunicorn==22.0.0").format(v=value))
    return value


def python_version(value: str) -> str:
    if not _VERSION.match(value):
        raise ValueError(_("'{v}' is not 'system' or a version like 3.12").format(v=value))
    return value


Requirement = Annotated[str, AfterValidator(requirement)]

SYSTEM_BINARY = "/usr/bin/python3"
# What add-apt-repository needs; installed through apt_get like every other package (dpkg lock wait, no prompts).
PPA_TOOL = "software-properties-common"
PPA = "ppa:deadsnakes/ppa"


class PythonSettings(StepSettings):
    version: Annotated[str, AfterValidator(python_version)] = Field("system", description=(
        "Python version: 'system' (the distribution's), or e.g. 3.12 (on Ubuntu from the deadsnakes PPA)."))
    build_tools: bool = Field(False, description=(
        "Also install a C compiler (build-essential), for requirements without ready-made wheels."))
    server_packages: list[Requirement] = Field(default_factory=lambda: ["gunicorn"], description=(
        "Installed into the venv for the app server."))
    asgi: bool = Field(False, description="The app is ASGI (FastAPI, Starlette...): add uvicorn workers.")
    installer: uv.Installer = Field("pip", description=(
        "What makes the venv and installs into it: 'pip' (python3 -m venv, then pip: what the Python docs teach) "
        "or 'uv' (uv venv and uv pip install: the same venv, pip included, in a fraction of the time; a "
        "pinned uv release is fetched from PyPI and kept only if its SHA-256 is the pinned one)."))


class PythonEnv(Step):
    name = "python"
    order = 300
    title = "Python and virtual environment"
    Settings = PythonSettings
    teaching = Teaching(
        why="The app gets its own virtual environment (a venv): the directory /srv/APP/venv, with its own python, "
            "its own pip and its own site-packages, where the app's libraries go. They cannot break the system's "
            "Python tools (apt itself uses Python), and the versions the app runs with are the ones in its "
            "requirements. The venv belongs to USER, so installing packages never needs root. "
            "`source /srv/APP/venv/bin/activate` does no more than put the venv's bin/ first on your shell's PATH, "
            "so that `python` and `pip` mean the venv's until you type `deactivate`. Services never activate "
            "anything: the gunicorn unit runs /srv/APP/venv/bin/gunicorn by its full path, which is the same thing. "
            "Run the app on the Python you develop it with: compare `python3 --version` on your machine with the "
            "server's; a .python-version file in the project names it, and the code step warns when the venv's "
            "differs. With installer: uv, uv does the same two jobs several times faster: `uv venv --seed` makes "
            "the same venv (pip included), and `uv pip install --python /srv/APP/venv/bin/python` takes pip's "
            "arguments. The step fetches one pinned uv release from PyPI into /opt/deploy-wizard/bin, where only "
            "root can write.",
        verify=[Check("python3 --version", note="the server's Python"),
                Check("/srv/APP/venv/bin/python --version", note="the venv's: the one the app runs with"),
                Check("/srv/APP/venv/bin/pip list", note="what is installed in the venv"),
                Check("python3 --version", local=True,
                      note="in your project: the Python you develop with (.python-version names it)")],
        troubleshoot=[
            ("error: externally-managed-environment",
             "pip refused to touch the system Python (PEP 668). Install into the venv: /srv/APP/venv/bin/pip ..."),
            ("The virtual environment was not created successfully because ensurepip is not available",
             "The python3-venv package is missing; this step installs it."),
            ("error: command 'gcc' failed: No such file or directory",
             "A requirement needs compiling: turn on build_tools, or pin a version that has a wheel."),
            ("A SyntaxError or ImportError on the server that your machine does not show",
             "The server runs another Python than you do: compare `python3 --version` in your project with "
             "`/srv/APP/venv/bin/python --version` on the server. Write the version you develop with into "
             ".python-version and set this step's version to it (on Ubuntu from the deadsnakes PPA)."),
            ("pip install worked, yet the app says ModuleNotFoundError",
             "The package went into another Python. Add it to the project's requirements and deploy; by hand, "
             "install it into the venv as USER: `sudo -u USER /srv/APP/venv/bin/pip install <package>`. In your "
             "own shell, `source /srv/APP/venv/bin/activate` first makes `pip` mean the venv's."),
            ("deploy-wizard: uv could not be fetched from https://files.pythonhosted.org/...",
             "The server does not reach PyPI's files directly (a proxy, a firewall). Set installer: pip: "
             "python3 -m venv downloads nothing, and pip installs from the index its pip.conf names."),
        ],
        goal="A virtual environment /srv/APP/venv, owned by USER, runs Python 3 and has gunicorn installed.",
        section="2.2 Installing the Python environment",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """A venv made by hand (`python3 -m venv`, as USER or chowned to it) counts; the exact apt packages and
        directory modes differ from the recommended setup only. gunicorn in it matters (the service runs it)."""
        made, owner, packages = VenvPython(ctx.venv), PathInfo(ctx.venv), VenvPackages(ctx.venv)

        def venv(facts: FactValues) -> str | None:
            if facts[made] is None:
                return _("{path}/bin/python does not run: no venv there yet").format(path=ctx.venv)
            state = facts[owner]
            if state is None or state["owner"] != ctx.user:
                return _("{path} belongs to {owner}, not {user}: installing into it would need root").format(
                    path=ctx.venv, owner=(state or {}).get("owner", "?"), user=ctx.user)
            return None

        def gunicorn(facts: FactValues) -> str | None:
            return None if "gunicorn" in facts[packages] else _("gunicorn is not installed in {path}").format(
                path=ctx.venv)

        def pip(change: object) -> bool:
            shown = str(getattr(change, "describe", lambda: "")())
            return "/bin/pip" in shown or " pip install" in shown

        return [Meaning(_("a venv {path} with Python 3, owned by {user}").format(path=ctx.venv, user=ctx.user),
                        (made, owner), venv, covers=lambda change: not pip(change)),
                Meaning(_("gunicorn is installed in the venv"), (packages,), gunicorn, covers=pip)]

    def _interpreter(self, s: PythonSettings, facts: FactValues) -> tuple[str, list[str]]:
        """(python binary, apt packages) for the wanted version on this server.

        Why the server's own python3 version and not a table of releases: a table is wrong on every release it
        does not list yet (Debian 13 ships 3.13, Ubuntu 26.04 3.14), and "3.13" there means the system one.
        """
        release = facts[OsRelease()]
        os_id = release.get("ID", "")
        system = facts[SystemPython()]
        extra = ["build-essential"] if s.build_tools else []
        if s.version in ("system", system):
            return SYSTEM_BINARY, ["python3", "python3-venv", "python3-dev", *extra]
        os_name = release.get("PRETTY_NAME") or os_id
        if system is None:
            raise PlanError(_("Python {v} cannot be planned for {os}: the server's python3 version could not be "
                              "read (python3 is not installed and apt has no version of it; are the package lists "
                              "refreshed?). Use version: system, or refresh the lists (apt-get update) and plan "
                              "again.").format(v=s.version, os=os_name))
        if os_id != "ubuntu":
            raise PlanError(_("Python {v} is not packaged for {os} (it ships {sys}). Use version: system, or a "
                              "server release that ships {v}.").format(v=s.version, os=os_name, sys=system))
        v = s.version
        return f"/usr/bin/python{v}", [f"python{v}", f"python{v}-venv", f"python{v}-dev", *extra]

    def _packages(self, s: PythonSettings, facts: FactValues) -> tuple[str, list[str], PackagesInstalled]:
        """(python binary, its packages, the one packages fact): with deadsnakes, the fact also asks for the
        tool that adds the PPA, so one dpkg-query answers both."""
        python, packages = self._interpreter(s, facts)
        asked = packages if python == SYSTEM_BINARY else [*packages, PPA_TOOL]
        return python, packages, PackagesInstalled(tuple(asked))

    def facts(self, s: PythonSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield OsRelease()
        yield SystemPython()  # asked in the first round with the release: no extra round trip
        yield VenvPython(ctx.venv)
        yield VenvPackages(ctx.venv)
        yield from dir_facts(app_dirs(ctx))
        if s.installer == "uv":
            yield PathInfo(uv.BINARY)
        if OsRelease() in known and SystemPython() in known:
            yield self._packages(s, known)[2]

    def plan(self, s: PythonSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        python, packages, fact = self._packages(s, facts)
        installed = facts[fact]
        if python != SYSTEM_BINARY and any(installed.get(p) is None for p in packages):
            yield from _deadsnakes(installed)
        # early (installed behind the steps before it: wizard.engine.behind): Debian's own python3, -venv and
        # -dev start no service. Not deadsnakes' (Ubuntu): they are in the lists only once its PPA is added
        install = install_missing(packages, installed, recommends=False, early=python == SYSTEM_BINARY)
        if install:
            yield install
        else:
            yield Ok(_("packages installed: {names}").format(names=", ".join(packages)))
        yield from ensure_dirs(app_dirs(ctx), facts)
        if s.installer == "uv" and facts[PathInfo(uv.BINARY)] is None:
            yield RunCommand(_("fetch uv {version} from PyPI into {path}, kept only if its SHA-256 is the pinned one")
                             .format(version=uv.VERSION, path=uv.BINARY), uv.fetch(), timeout=600,
                             skip_if=guards.exists(uv.BINARY), leaves=((PathInfo(uv.BINARY), {
                                 "type": "regular file", "mode": "755", "owner": "root", "group": "root"}),))
        wanted_version = None if s.version == "system" else s.version
        have = facts[VenvPython(ctx.venv)]
        if have is None or (wanted_version and have != wanted_version):
            if have is not None:
                yield RunCommand(_("the venv was made with Python {have}; remove it to rebuild with {want}").format(
                    have=have, want=wanted_version), cmd("rm", "-rf", ctx.venv), skip_if=sh(
                    '! [ -e "$1/bin/python" ] || [ "$("$1/bin/python" -c "import sys; print(\'%d.%d\' % '
                    'sys.version_info[:2])")" = "$2" ]', ctx.venv, str(wanted_version)))
            make = (cmd(uv.BINARY, "venv", "--quiet", "--seed", "--python", python, ctx.venv, user=ctx.user,
                        env=uv.env(ctx)) if s.installer == "uv" else cmd(python, "-m", "venv", ctx.venv, user=ctx.user))
            # what a dry run's later steps read: the code step installs into the venv only where its pip is
            leaves = ((PathInfo(f"{ctx.venv}/bin/pip"), {"type": "regular file", "mode": "755", "owner": ctx.user,
                                                         "group": ctx.user}),)
            yield RunCommand(_("create the virtual environment {path} as {user}").format(path=ctx.venv, user=ctx.user),
                             make, skip_if=guards.exists(f"{ctx.venv}/bin/python"), leaves=leaves)
            installed_in_venv: dict[str, str] = {}
        else:
            yield Ok(_("virtual environment {path} exists (Python {v})").format(path=ctx.venv, v=have))
            installed_in_venv = facts[VenvPackages(ctx.venv)]
        wanted = list(s.server_packages) + (["uvicorn[standard]"] if s.asgi and not any(
            normalize(re.split(r"[\[<>=!~]", r)[0]) == "uvicorn" for r in s.server_packages) else [])
        missing_reqs = [r for r in wanted if not _satisfied(r, installed_in_venv)]
        if missing_reqs:
            argv, env = uv.installing(ctx, s.installer)
            install = cmd(*argv, *missing_reqs, user=ctx.user, env=env)
            yield RunCommand(_("install {names} into the venv").format(names=", ".join(missing_reqs)), install,
                             skip_if=sh(
                                 'v=$1; shift; for r; do n=${r%%[[<>=!~]*}; '
                                 '"$v/bin/pip" show -q "$n" >/dev/null 2>&1 || exit 1; case $r in *==*) '
                                 '[ "$("$v/bin/pip" show "$n" | sed -n "s/^Version: //p")" = "${r#*==}" ] || exit 1;; '
                                 'esac; done', ctx.venv, *missing_reqs))
        else:
            yield Ok(_("in the venv: {names}").format(names=", ".join(wanted)))


def _deadsnakes(installed: dict[str, str | None]) -> Iterator[Change]:
    """The deadsnakes PPA, in three idempotent changes that wait for the dpkg lock like every apt call.

    Why three and not one `apt-get install ... && add-apt-repository`: a bare apt-get fails at once when
    unattended-upgrades holds the lock on a fresh server (install_missing and apt_update wait), and a plain
    add-apt-repository runs its own apt update without that wait (-n: it only writes the source, then
    apt_update refreshes the lists and stamps the refresh like the os_updates step does).
    """
    tool = install_missing([PPA_TOOL], installed)
    if tool:
        yield tool
    yield RunCommand(_("add the deadsnakes PPA, which packages other Python versions for Ubuntu"),
                     cmd("add-apt-repository", "-y", "-n", PPA, env=APT_ENV),
                     skip_if=sh('ls /etc/apt/sources.list.d/ 2>/dev/null | grep -q "$1"', "deadsnakes"))
    yield RunCommand(_("refresh the package lists, so apt sees the Python packages of the deadsnakes PPA"),
                     apt_update(), skip_if=sh('ls /var/lib/apt/lists/ 2>/dev/null | grep -q "$1"', "deadsnakes"))


def _satisfied(req: str, installed: dict[str, str]) -> bool:
    name = normalize(re.split(r"[\[<>=!~]", req)[0])
    if name not in installed:
        return False
    if "==" in req:
        return installed[name] == req.split("==", 1)[1]
    return True
