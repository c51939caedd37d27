"""What the project uses, installed the way the release itself says: uv.lock, poetry.lock, a requirements file or
the dependencies in pyproject.toml; and its optional front-end build.

Why read the release instead of asking: a lock file is the set of versions the developer tested, and only the
tool that wrote it installs exactly that set. Why only the dependencies and never the project as a package:
the code runs from its release directory, and an installed copy of it in the venv would shadow the next
release. Why a marker in the venv holding the hashes of the files installed from: a second apply changes
nothing, and a venv made anew (another Python) has no marker, so everything is installed into it again.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement

from recipes.shared import guards, uv
from recipes.shared.apt import install_missing
from recipes.shared.common import DirSpec, ensure_dirs, marker_path, once_per_release, shown_command
from recipes.shared.web import deps_marker
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, FileState, PackagesInstalled, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Later, Ok, PlanError, RunCommand, file_leaves

_ = translator(__file__)

PYPROJECT = "pyproject.toml"
LOCKS = (("uv", "uv.lock"), ("poetry", "poetry.lock"))  # auto's order: a lock file says the most
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"  # Debian's and Ubuntu's bundle of the trusted CAs
UV = "uv>=0.5"  # UV_PROJECT_ENVIRONMENT and the sync flags below are there since 0.4/0.5
POETRY = "poetry>=2,<3"  # the install flags below are Poetry 2's (--only main, --no-root)
NODE = ("nodejs", "npm")
_NODE_WORDS = {"npm", "npx", "node", "nodejs"}
_HASHED = re.compile(r"(^|\s)--hash[=\s]", re.M)

# $1 venv, $2 the marker's text, then the installer's command and its arguments (pip's, or uv pip's: the python
# step's installer). When no version of a requirement installs on this Python, say so plainly, naming it when the
# installer does: the tutorial's "match the version you developed with".
PIP_INSTALL = r"""
venv=$1 done=$2; shift 2
out=$("$@" 2>&1); rc=$?
[ -z "$out" ] || printf '%s\n' "$out"
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -Eq 'require a different python version|current Python version'; then
  pkg=$(printf '%s\n' "$out" | sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' | head -n 1)
  have=$("$venv/bin/python" -c 'import platform; print(platform.python_version())')
  echo "deploy-wizard: ${pkg:-a requirement} has no version that installs on this server's Python $have"
fi
[ "$rc" -ne 0 ] || printf '%s\n' "$done" > "$venv/.deploy-wizard-requirements" || exit 1
exit "$rc"
""".strip()
# $1 the release, $2 the marker file, $3 its text, then the installer's command: run in the release (uv and
# Poetry read pyproject.toml and their lock from the working directory), remembered only when it succeeded.
IN_RELEASE = 'cd "$1" || exit 1; marker=$2 done=$3; shift 3; "$@" || exit; printf "%s\\n" "$done" > "$marker"'


class InstallSettings(Protocol):
    """The code step's settings this module reads (a Protocol: step.py imports this module, not the reverse)."""

    install: str
    requirements: str | None
    build: str | None


@dataclass(frozen=True)
class Shape:
    """How this release installs: the mode, the files it installs from (name, state), and pip's arguments."""

    mode: str
    files: tuple[tuple[str, FileState], ...]
    args: tuple[str, ...] = ()

    def marker(self) -> str:
        """What the venv's marker holds once installed: the files' hashes, and the mode unless it is the
        requirements file (whose marker was the bare hash before the other modes existed: kept, so upgrading
        deploy-wizard reinstalls nothing)."""
        hashes = " ".join(state.sha256 for _name, state in self.files)
        return hashes if self.mode == "requirements" else f"{self.mode} {hashes}"

    def names(self) -> str:
        return ", ".join(name for name, _state in self.files)


def tools_dir(ctx: Context) -> str:
    """Poetry's own venv: its many dependencies never mix with (or get pinned by) the app's."""
    return f"{ctx.shared}/tools"


def chosen_mode(s: InstallSettings) -> str:
    """`requirements: null` with install auto is how a recipe said "install nothing" before install existed."""
    return "none" if s.install == "auto" and not s.requirements else s.install


def file_names(s: InstallSettings, mode: str | None = None) -> list[str]:
    """The release's files a mode reads, the one it installs from first (auto: every candidate, in order)."""
    req = [s.requirements] if s.requirements else []
    return {"none": [], "requirements": req, "pyproject": [PYPROJECT], "uv": ["uv.lock", PYPROJECT],
            "poetry": ["poetry.lock", PYPROJECT],
            "auto": ["uv.lock", "poetry.lock", *req, PYPROJECT]}[mode or chosen_mode(s)]


def _state(facts: FactValues, release: str, name: str) -> FileState | None:
    return facts[FileInfo(f"{release}/{name}")]


def _lock_mode(s: InstallSettings, facts: FactValues, release: str) -> str | None:
    """uv or poetry when the release installs with one (from the lock files alone: no parsing needed)."""
    mode = chosen_mode(s)
    if mode in ("uv", "poetry"):
        return mode
    if mode == "auto":
        return next((tool for tool, lock in LOCKS if _state(facts, release, lock)), None)
    return None


def facts(s: InstallSettings, known: FactValues, ctx: Context, release: str) -> Iterator[Fact]:
    """The candidate files and the marker (asked with the release itself: one round trip), then the tool the
    release needs (uv in the venv, Poetry in its own) once the files say which."""
    names = file_names(s)
    if not names:
        return
    yield from (FileInfo(f"{release}/{name}") for name in names)
    yield FileInfo(deps_marker(ctx))
    if not all(FileInfo(f"{release}/{name}") in known for name in names):
        return
    tool = _lock_mode(s, known, release)
    if tool == "uv":
        yield PathInfo(f"{ctx.venv}/bin/uv")
    elif tool == "poetry":
        yield from (PathInfo(tools_dir(ctx)), PathInfo(f"{tools_dir(ctx)}/bin/poetry"))


def build_facts(s: InstallSettings, ctx: Context) -> list[Fact]:
    if not s.build:
        return []
    return [FileInfo(marker_path(ctx, "built")), *([PackagesInstalled(NODE)] if needs_node(s.build) else [])]


def needs_node(build: str) -> bool:
    return bool(_NODE_WORDS & set(shlex.split(build)))


def dependencies(state: FileState) -> list[str]:
    """[project].dependencies of pyproject.toml, each checked as a requirement (PEP 508): one argument each
    for pip, and none of them can pass for an option."""
    try:
        project = tomllib.loads(state.text() or "").get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(_("{file} is not valid TOML: {why}").format(file=PYPROJECT, why=exc)) from None
    project = project if isinstance(project, dict) else {}
    if "dependencies" in project.get("dynamic", []):
        raise PlanError(_("{file} declares its dependencies dynamic, so only building the project tells them: "
                          "add a requirements file or a lock (uv.lock, poetry.lock)").format(file=PYPROJECT))
    found = project.get("dependencies", [])
    for item in found:
        try:
            Requirement(item)
        except (InvalidRequirement, TypeError):
            raise PlanError(_("'{dep}' in {file} is not a requirement pip understands").format(
                dep=item, file=PYPROJECT)) from None
    return list(found)


def _missing(mode: str, name: str) -> PlanError:
    if mode == "requirements":
        return PlanError(_("{file} is not in the repository; set requirements to the right file, or empty").format(
            file=name))
    return PlanError(_("install: {mode} reads {file}, and the release has none; set install to auto, or to the "
                       "way the project installs").format(mode=mode, file=name))


def _explicit(mode: str, s: InstallSettings, facts: FactValues, release: str) -> Shape | None:
    """The shape of a mode the recipe names: its files must be there."""
    first = file_names(s, mode)[0]
    wanted = _state(facts, release, first)
    if wanted is None:
        raise _missing(mode, first)
    if mode == "requirements":
        hashed = ("--require-hashes",) if _HASHED.search(wanted.text() or "") else ()
        return Shape(mode, ((first, wanted),), (*hashed, "-r", f"{release}/{first}"))
    if mode == "pyproject":
        found = dependencies(wanted)
        return Shape(mode, ((first, wanted),), ("--", *found)) if found else None
    pyproject = _state(facts, release, PYPROJECT)
    return Shape(mode, ((first, wanted), *(((PYPROJECT, pyproject),) if pyproject else ())))


def detect(s: InstallSettings, facts: FactValues, release: str) -> Shape | None:
    """The shape of this release, or None when it declares nothing to install. auto: uv.lock, else poetry.lock,
    else the requirements file, else the dependencies in pyproject.toml, else nothing."""
    mode = chosen_mode(s)
    if mode != "auto":
        return _explicit(mode, s, facts, release)
    tool = _lock_mode(s, facts, release)
    if tool:
        return _explicit(tool, s, facts, release)
    if s.requirements and _state(facts, release, s.requirements):
        return _explicit("requirements", s, facts, release)
    if _state(facts, release, PYPROJECT):
        return _explicit("pyproject", s, facts, release)
    return None


def plan_install(s: InstallSettings, facts: FactValues, ctx: Context, release: str) -> Iterator[Change | Ok]:
    """One Later before the checkout (what to install is in the release); then the installer of the release's
    shape, unless the marker says these very files are installed."""
    if chosen_mode(s) == "requirements" and not s.requirements:
        raise PlanError(_("install: requirements needs the requirements setting (the file's name)"))
    names = file_names(s)
    if not names:
        return
    if facts[PathInfo(release)] is None:  # cloned by this very plan
        reason = (_("what to install is read from the release after the checkout ({files})").format(
                      files=", ".join(names))
                  if chosen_mode(s) == "auto" else _("{file} is read after the checkout").format(file=names[0]))
        yield Later(_("install the requirements"), reason, choices=by_hand(s, ctx, release))
        return
    shape = detect(s, facts, release)
    if shape is None:
        yield Ok(_("nothing to install: the release has none of {files}, or declares no dependencies in them")
                 .format(files=", ".join(names)))
        return
    if facts[PathInfo(f"{ctx.venv}/bin/pip")] is None:
        raise PlanError(_("there is no virtual environment at {venv}: add the python step before code").format(
            venv=ctx.venv))
    marker = facts[FileInfo(deps_marker(ctx))]
    if marker and (marker.text() or "").strip() == shape.marker():
        yield Ok(_("requirements unchanged") if shape.mode == "requirements"
                 else _("dependencies unchanged ({files})").format(files=shape.names()))
        return
    yield from INSTALLERS[shape.mode](shape, facts, ctx, release)


class _NotThereYet(FactValues):
    """The server as the runbook's cases see it before the install: every fact as on a fresh server."""

    def __getitem__(self, fact: Fact | str) -> object:
        return fact.fresh() if isinstance(fact, Fact) else super().__getitem__(fact)

    def __contains__(self, fact: object) -> bool:
        return isinstance(fact, Fact) or super().__contains__(fact)


_BY_HAND = FileState("", "644", "", "", 0, b"")  # a file the case tests for; its hash only names a marker
# pyproject.toml's [project].dependencies, one pip argument each, read on the server (what _pip is given)
_PYPROJECT_BY_HAND = ('import sys, subprocess, tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))'
                      '.get("project", {}).get("dependencies", []); '
                      'deps and subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--", *deps])')


def by_hand(s: InstallSettings, ctx: Context, release: str) -> tuple[tuple[Command, str, tuple[Change, ...]], ...]:
    """What the install a dry run cannot decide runs, case by case, for a person following the runbook: one case
    per file the mode reads, in the order detect() tries them, each with its installer's own commands (run with
    the server as it is before the install). Why: a runbook whose install is a comment cannot be followed."""
    mode = chosen_mode(s)
    names = file_names(s) if mode == "auto" else file_names(s)[:1]
    cases = []
    for name in names:
        kind = mode if mode != "auto" else {"uv.lock": "uv", "poetry.lock": "poetry", PYPROJECT: "pyproject"}.get(
            name, "requirements")
        if kind == "pyproject":
            changes: list[Change] = [RunCommand(_("install the dependencies {file} lists, not the project itself")
                                                .format(file=name), sh(
                'cd "$1" && exec "$2/bin/python" -c "$3"', release, ctx.venv, _PYPROJECT_BY_HAND, user=ctx.user,
                env={"HOME": ctx.home}, display=f"cd {release} && {ctx.venv}/bin/python -c "
                                                f"{shlex.quote(_PYPROJECT_BY_HAND)}"))]
        else:
            args = ("-r", f"{release}/{name}") if kind == "requirements" else ()
            changes = [change for change in INSTALLERS[kind](Shape(kind, ((name, _BY_HAND),), args), _NotThereYet(),
                                                               ctx, release) if isinstance(change, Change)]
        cases.append((cmd("test", "-f", f"{release}/{name}", root=False), name, tuple(changes)))
    return tuple(cases)


def _because(facts: FactValues, ctx: Context, shape: Shape) -> str:
    """Why an install runs: the venv's marker records an install from other versions of the files, or none at all
    (the first release, or a venv made anew: the marker lives in it)."""
    if facts[FileInfo(deps_marker(ctx))] is None:
        return _("nothing from {files} is in this venv yet").format(files=shape.names())
    return _("{files} changed").format(files=shape.names())


def _install(why: str, command: Command, ctx: Context, shape: Shape) -> RunCommand:
    """Every installer's last change: the export guard and what it leaves (for a dry run's later passes) are
    both the marker holding the shape's hashes, which the command writes only when it succeeded."""
    text = shape.marker()
    return RunCommand(why, command, timeout=1800, skip_if=guards.file_is(deps_marker(ctx), text),
                      leaves=file_leaves(deps_marker(ctx), f"{text}\n".encode(), owner=ctx.user, group=ctx.user))


def _tool_leaves(ctx: Context, path: str) -> tuple[tuple[Fact, dict[str, str]]]:
    return ((PathInfo(path), {"type": "regular file", "mode": "755", "owner": ctx.user, "group": ctx.user}),)


def _pip(shape: Shape, facts: FactValues, ctx: Context, release: str) -> Iterator[Change]:
    """requirements (hash-checking made explicit when the file pins hashes) and pyproject (each dependency one
    argument, after `--`), with pip or, where the python step says so, uv pip: the same arguments for both."""
    why = (_("install the requirements ({why})") if shape.mode == "requirements"
           else _("install the dependencies {file} lists, not the project itself ({why})"))
    chosen = uv.installer(ctx)
    prefix, env = uv.installing(ctx, chosen)
    argv = (*prefix, *shape.args)
    shown = (cmd(*argv, user=ctx.user, env=env).masked() if chosen == "uv"  # as the python step shows uv
             else f"{ctx.venv}/bin/pip install {shlex.join(shape.args)}")
    yield _install(why.format(file=shape.names(), why=_because(facts, ctx, shape)),
                   sh(PIP_INSTALL, ctx.venv, shape.marker(), *argv, user=ctx.user, env=env, display=shown), ctx, shape)


def _uv(shape: Shape, facts: FactValues, ctx: Context, release: str) -> Iterator[Change]:
    """uv sync from the lock as it is (--frozen), into the app's venv, leaving what the python step put there
    (--inexact keeps gunicorn), without the dev group or the project itself. --python pins the venv's own
    interpreter: otherwise a .python-version naming another Python makes uv delete the venv and build a new
    one (with downloads off, it refuses instead of fetching a Python). uv trusts the server's own CA store,
    as pip and apt do, not only the roots it ships with: behind a proxy with its own CA it would fail."""
    fetched = uv.installer(ctx) == "uv"  # the python step fetched its pinned uv: that one runs the sync too
    binary = uv.BINARY if fetched else f"{ctx.venv}/bin/uv"
    if not fetched and facts[PathInfo(binary)] is None:
        yield RunCommand(_("install uv into {venv} (the release has uv.lock)").format(venv=ctx.venv),
                         sh('exec "$1/bin/pip" install --disable-pip-version-check -q "$2"', ctx.venv, UV,
                            user=ctx.user, env={"HOME": ctx.home},
                            display=f"{ctx.venv}/bin/pip install {shlex.quote(UV)}"),
                         timeout=900, skip_if=guards.exists(binary), leaves=_tool_leaves(ctx, binary))
    argv = (binary, "sync", "--frozen", "--inexact", "--no-install-project", "--no-dev", "--python",
            f"{ctx.venv}/bin/python")
    yield _install(_("install the locked dependencies with uv sync ({why})").format(why=_because(facts, ctx, shape)),
                   sh(IN_RELEASE, release, deps_marker(ctx), shape.marker(), *argv, user=ctx.user,
                      env={"UV_PROJECT_ENVIRONMENT": ctx.venv, "UV_PYTHON_DOWNLOADS": "never", "UV_NATIVE_TLS": "1",
                           "UV_SYSTEM_CERTS": "1", "HOME": ctx.home},
                      display=f"cd {release} && UV_PROJECT_ENVIRONMENT={ctx.venv} {shlex.join(argv)}"), ctx, shape)


def _poetry(shape: Shape, facts: FactValues, ctx: Context, release: str) -> Iterator[Change | Ok]:
    """Poetry in a venv of its own (made with the app venv's Python, so no other Python is needed), then
    `poetry install` of the main group from the lock into the app's venv: VIRTUAL_ENV names it, and
    POETRY_VIRTUALENVS_CREATE=false stops Poetry making one of its own. It never removes packages (gunicorn
    stays), and refuses a lock that no longer matches pyproject.toml instead of locking anew. Like uv, it
    trusts the server's CA store (Debian's bundle) rather than the roots its requests library ships with."""
    tools = tools_dir(ctx)
    poetry = f"{tools}/bin/poetry"
    yield from ensure_dirs([DirSpec(tools, ctx.user, ctx.user, "755")], facts)
    if facts[PathInfo(poetry)] is None:
        yield RunCommand(_("install Poetry into {path}, a venv of its own (the release has poetry.lock)").format(
            path=tools), sh('"$1/bin/python" -m venv "$2" && exec "$2/bin/pip" install --disable-pip-version-check '
                            '-q "$3"', ctx.venv, tools, POETRY, user=ctx.user, env={"HOME": ctx.home},
                            display=f"{ctx.venv}/bin/python -m venv {tools} && {tools}/bin/pip install "
                                    f"{shlex.quote(POETRY)}"),
            timeout=900, skip_if=guards.exists(poetry), leaves=_tool_leaves(ctx, poetry))
    argv = (poetry, "install", "--no-root", "--only", "main", "--no-interaction", "--no-ansi")
    yield _install(_("install the locked dependencies with poetry install ({why})").format(
        why=_because(facts, ctx, shape)),
        sh(IN_RELEASE, release, deps_marker(ctx), shape.marker(), *argv, user=ctx.user,
           env={"VIRTUAL_ENV": ctx.venv, "POETRY_VIRTUALENVS_CREATE": "false", "HOME": ctx.home,
                "REQUESTS_CA_BUNDLE": SYSTEM_CAS},
           display=f"cd {release} && VIRTUAL_ENV={ctx.venv} POETRY_VIRTUALENVS_CREATE=false {shlex.join(argv)}"),
        ctx, shape)


Installer = Callable[[Shape, FactValues, Context, str], Iterable[Change | Ok]]
INSTALLERS: dict[str, Installer] = {"requirements": _pip, "pyproject": _pip, "uv": _uv, "poetry": _poetry}


def plan_build(s: InstallSettings, facts: FactValues, ctx: Context, release_id: str,
               checked_out: bool) -> Iterator[Change | Ok]:
    """The front-end build, once per release, in the release before it goes live and before the static step
    collects (it runs later): nodejs and npm from Debian first when the build uses them."""
    if not s.build:
        return
    if needs_node(s.build):
        # early (wizard.engine.behind): nodejs and npm start no service
        node = install_missing(NODE, facts[PackagesInstalled(NODE)], early=True)
        if node is not None:
            yield node
    if not checked_out:
        yield Later(_("run the build"), _("{command} runs in the release after the checkout").format(
            command=shown_command(s.build)))
        return
    done = facts[FileInfo(marker_path(ctx, "built"))]
    if done and (done.text() or "").strip() == release_id:
        yield Ok(_("release {id} is built").format(id=release_id))
        return
    yield from once_per_release(ctx, release_id, "built", s.build, timeout=1800,
                                why=_("build release {id}: {command}").format(id=release_id,
                                                                              command=shown_command(s.build)),
                                remember=_("remember that release {id} is built").format(id=release_id))
