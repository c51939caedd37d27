"""Issue 14, item 3, live: the project as it is. One app whose repository changes shape from release to release
(tests/live/projects): only a pyproject.toml, then a uv.lock, then a poetry.lock, then an npm front-end build.
Each release is installed the way it says, and proven the way a user sees it: the page shows the version of a
package only that shape's installer brings (and no dev group), the built script is served by nginx; a second
apply changes nothing.

The lock files are committed, made with uv 0.13 (`uv lock`) and Poetry 2.5 (`poetry lock`); remake them the
same way after changing a project's pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git, git_daemon, make_repo

PROJECTS = Path(__file__).parent / "projects"
HOST = "shapes.example.test"
APP = "/srv/live"  # write_recipe names the recipe `live`: the app's directory


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "shapes", PROJECTS / "pyproject_only")
    with git_daemon(bare.parent, box.host_ip) as git_url:
        yield {"work": work, "bare": bare, "url": f"{git_url}/shapes.git", "recipe": live_dirs / "shapes.yaml"}


def recipe(box, lab, build: str | None = None) -> Path:
    """The smallest recipe that serves the app and its static directory over HTTP; `code.build` when given."""
    extra = f"    build: {build}\n" if build else ""
    return write_recipe(lab["recipe"], box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: shapes
  python: {{}}
  code:
    repo: {lab["url"]}
{extra}  static:
    collect: none
    source_dir: static
    media: false
  app_server:
    module: app:app
  nginx:
    server_names: [{HOST}]
""")


def push_shape(lab, shape: str) -> str:
    """Make the work tree exactly the project `shape` (what the previous shape had is gone), commit, push."""
    work = lab["work"]
    for path in work.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(PROJECTS / shape, work, dirs_exist_ok=True)
    git("add", "-A", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", f"the project as {shape}", cwd=work)  # a new release each time
    git("push", "-q", str(lab["bare"]), "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def apply(live_dirs, path: Path) -> subprocess.CompletedProcess[str]:
    result = cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)
    failures = [e for e in events(result) if e["event"] == "step_failed"]
    assert result.returncode == 0 and finished(result)["ok"], (failures, result.stdout[-4000:], result.stderr[-2000:])
    return result


def started(result: subprocess.CompletedProcess[str], step: str = "code") -> list[str]:
    return [str(e["why"]) for e in events(result) if e["event"] == "change_started" and e["step"] == step
            and not e.get("check")]


def deploy(box, live_dirs, lab, shape: str, build: str | None = None) -> tuple[str, list[str]]:
    """Push `shape` as the next release and apply; the second apply must change nothing (the marker holds the
    hashes of the files installed from). Returns the commit and what the code step did."""
    commit = push_shape(lab, shape)
    path = recipe(box, lab, build)
    first = apply(live_dirs, path)
    again = apply(live_dirs, path)
    assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change_started"]
    return commit, started(first)


def page(box, path: str = "/") -> str:
    answer = subprocess.run(["curl", "-sS", "-m", "20", "--resolve", f"{HOST}:80:{box.ip}", "-w", "\n%{http_code}",
                             f"http://{HOST}{path}"], capture_output=True, text=True)
    return answer.stdout + answer.stderr


def test_a_pyproject_only_project_gets_its_dependencies_and_not_itself(box, live_dirs, lab) -> None:
    _commit, did = deploy(box, live_dirs, lab, "pyproject_only")
    assert ("install the dependencies pyproject.toml lists, not the project itself (nothing from pyproject.toml is in "
            "this venv yet)") in did
    assert page(box) == "shape=pyproject-only six=1.16.0\n\n200"
    # the code runs from its release: no copy of the project in the venv to shadow the next one
    shown = on_box(box, f"{APP}/venv/bin/pip show shapes-pyproject-only")
    assert shown.returncode != 0, shown.stdout


def test_a_uv_lock_is_synced_into_the_app_venv_keeping_gunicorn(box, live_dirs, lab) -> None:
    _commit, did = deploy(box, live_dirs, lab, "uv_lock")
    assert f"install uv into {APP}/venv (the release has uv.lock)" in did
    assert "install the locked dependencies with uv sync (uv.lock, pyproject.toml changed)" in did
    # the page is served by gunicorn from the same venv: --inexact kept it; the dev group stayed out
    assert page(box) == "shape=uv iniconfig=2.0.0 dev=absent\n\n200"
    marker = on_box(box, f"cat {APP}/venv/.deploy-wizard-requirements").stdout
    assert marker.startswith("uv ") and len(marker.split()) == 3


def test_a_poetry_lock_is_installed_by_poetry_from_its_own_venv(box, live_dirs, lab) -> None:
    _commit, did = deploy(box, live_dirs, lab, "poetry_lock")
    assert f"install Poetry into {APP}/shared/tools, a venv of its own (the release has poetry.lock)" in did
    assert "install the locked dependencies with poetry install (poetry.lock, pyproject.toml changed)" in did
    assert page(box) == "shape=poetry tomli=2.0.1 dev=absent\n\n200"
    owner = on_box(box, f"stat -c %U {APP}/shared/tools/bin/poetry {APP}/venv/lib/python3*/site-packages/tomli")
    assert owner.stdout.split() == ["shapes", "shapes"], owner.stdout + owner.stderr
    # Poetry's own packages never reached the app's venv
    assert on_box(box, f"{APP}/venv/bin/pip show poetry").returncode != 0


def test_an_npm_build_runs_once_per_release_as_the_app_user_and_is_served(box, live_dirs, lab) -> None:
    build = "npm ci && npm run build"
    commit = push_shape(lab, "npm_build")
    path = recipe(box, lab, build)
    # a dry run cannot see the release yet: the install and the build are the run's to decide, one each
    planned = cli(live_dirs, "plan", str(path), "--json")
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-2000:]
    later = {e["step"]: [c["why"] for c in e["later"]] for e in events(planned) if e["event"] == "step_planned"}
    assert later["code"] == ["install the requirements", "run the build"]

    first = apply(live_dirs, path)
    assert "install nodejs, npm" in started(first)
    assert f"build release {commit[:12]}: {build}" in started(first)
    assert page(box, "/static/app.js") == f"// built by npm run build in {commit[:12]} as shapes\n\n200"
    assert '<script src="/static/app.js"></script>shape=npm' in page(box)
    again = apply(live_dirs, path)
    assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change_started"]
    assert on_box(box, f"cat {APP}/shared/state/built").stdout.strip() == commit[:12]


def push_variant(lab, shape: str, files: dict[str, str]) -> str:
    """`shape` with some files replaced or added: the next release."""
    work = lab["work"]
    push_shape(lab, shape)
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", f"{shape} with {', '.join(files)}", cwd=work)
    git("push", "-q", str(lab["bare"]), "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def notices(result: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(str(e["text"]) for e in events(result) if e["event"] == "notice")


def test_the_projects_python_is_compared_with_the_servers(box, live_dirs, lab) -> None:
    """Issue 14, item 4: another minor version is a warning with the fix, a requires-python the venv cannot
    meet stops before pip, and a requirement with no version for this Python is named."""
    have = on_box(box, "python3 -c 'import platform; print(platform.python_version())'").stdout.strip()
    path = recipe(box, lab)
    push_variant(lab, "pyproject_only", {".python-version": "3.99\n"})
    warned = apply(live_dirs, path)
    assert f"the project was written for Python 3.99 (.python-version), and the server's venv runs {have}" in (
        notices(warned))
    assert page(box) == "shape=pyproject-only six=1.16.0\n\n200"  # a warning: the release still went live

    pyproject = (PROJECTS / "pyproject_only" / "pyproject.toml").read_text()
    push_variant(lab, "pyproject_only", {"pyproject.toml": pyproject.replace('">=3.11"', '">=3.99"')})
    refused = cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)
    assert refused.returncode != 0
    failed = [str(e["error"]) for e in events(refused) if e["event"] == "step_failed"]
    assert failed and failed[0].startswith(f"the project needs Python >=3.99 (requires-python in pyproject.toml), "
                                           f"and the server's venv runs {have}"), failed

    # Django 6 needs Python 3.12: on an older server (Debian 12) pip finds no version, and the reason is said
    # plainly. Debian 13's 3.13 installs it: no released package stands in there, the unit tests cover the message.
    if tuple(map(int, have.split(".")[:2])) < (3, 12):
        push_variant(lab, "npm_build", {"requirements.txt": "Django>=6\n"})
        too_new = cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)
        assert too_new.returncode != 0
        assert f"Django>=6 has no version that installs on this server's Python {have}" in notices(too_new)
