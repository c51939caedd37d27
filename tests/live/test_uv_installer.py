"""Live: python.installer: uv. The pinned uv is fetched from PyPI by root and kept only with its hash; it makes the
venv (pip seeded into it) and installs the release's requirements, and later a uv.lock release syncs with the same
uv. Proven the way a user sees it: the page shows the version the requirements pin; the venv's own pip works for
the teaching texts' commands; a second apply changes nothing. And a wheel whose hash differs is refused on the
server itself, leaving nothing behind."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from recipes.shared import uv
from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git_daemon, make_repo
from tests.live.test_project_shapes import push_shape

PROJECTS = Path(__file__).parent / "projects"
HOST = "uv.example.test"
APP = "/srv/live"  # write_recipe names the recipe `live`: the app's directory


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "uvapp", PROJECTS / "requirements_pin")
    with git_daemon(bare.parent, box.host_ip) as git_url:
        yield {"work": work, "bare": bare, "url": f"{git_url}/uvapp.git", "recipe": live_dirs / "uv.yaml"}


def recipe(box, lab) -> Path:
    return write_recipe(lab["recipe"], box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: uvapp
  python:
    installer: uv
  code:
    repo: {lab["url"]}
  app_server:
    module: app:app
  nginx:
    server_names: [{HOST}]
""")


def apply(live_dirs, path: Path) -> subprocess.CompletedProcess[str]:
    result = cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)
    assert result.returncode == 0 and finished(result)["ok"], (result.stdout[-4000:], result.stderr[-2000:])
    return result


def ran(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [str(e["description"]) for e in events(result) if e["event"] == "change_started"]


def page(box) -> str:
    answer = subprocess.run(["curl", "-sS", "-m", "20", "--resolve", f"{HOST}:80:{box.ip}", "-w", "\n%{http_code}",
                             f"http://{HOST}/"], capture_output=True, text=True)
    return answer.stdout + answer.stderr


def test_uv_makes_the_venv_and_installs_the_requirements(box, live_dirs, lab) -> None:
    path = recipe(box, lab)
    first = apply(live_dirs, path)
    did = ran(first)
    assert any(line.startswith("python3 -I -c <fetch the wheel") for line in did), did
    assert any(f"{uv.BINARY} venv --quiet --seed" in line for line in did), did
    assert any(f"{uv.BINARY} pip install" in line and "requirements.txt" in line for line in did), did
    assert not any(f"{APP}/venv/bin/pip install" in line for line in did), did
    assert page(box) == "shape=requirements iniconfig=2.0.0\n\n200"
    # root's binary; a venv uv made, with pip in it for the teaching texts' commands, owned by the app user
    assert on_box(box, f"stat -c '%U %a' {uv.BINARY}").stdout.split() == ["root", "755"]
    assert f"uv = {uv.VERSION}" in on_box(box, f"cat {APP}/venv/pyvenv.cfg").stdout
    listed = on_box(box, f"runuser -u uvapp -- {APP}/venv/bin/pip list")
    assert listed.returncode == 0 and "iniconfig" in listed.stdout and "gunicorn" in listed.stdout, listed.stdout
    assert on_box(box, f"stat -c %U {APP}/venv/lib/python3*/site-packages/iniconfig").stdout.split() == ["uvapp"]
    again = apply(live_dirs, path)
    assert finished(again)["changes"] == 0, ran(again)


def test_a_uv_lock_release_syncs_with_the_same_uv(box, live_dirs, lab) -> None:
    push_shape(lab, "uv_lock")
    path = recipe(box, lab)
    first = apply(live_dirs, path)
    did = ran(first)
    assert any(line.endswith(f"{uv.BINARY} sync --frozen --inexact --no-install-project --no-dev --python "
                             f"{APP}/venv/bin/python") for line in did), did
    assert not any("install 'uv" in line for line in did), did  # no second uv in the venv
    assert page(box) == "shape=uv iniconfig=2.0.0 dev=absent\n\n200"
    again = apply(live_dirs, path)
    assert finished(again)["changes"] == 0, ran(again)



def serving_since(box) -> tuple[str, float]:
    """The live release's unit: its main process, and when it started (epoch seconds)."""
    unit = on_box(box, "systemctl list-units --plain --no-legend --state=active 'live@*.service'").stdout.split()[0]
    shown = on_box(box, f"systemctl show -P MainPID {unit}; systemctl show -P ActiveEnterTimestamp --timestamp=unix "
                        f"{unit}").stdout.split()
    return shown[0], float(shown[1].lstrip("@"))


def test_a_venv_made_anew_on_the_same_release_restarts_the_app(box, live_dirs, lab) -> None:
    """Found in a new user's trial: with the venv deleted and made anew, the app kept running the old, deleted
    files (nothing restarted it on the same release). Its unit now restarts after the new venv's install, once."""
    path = recipe(box, lab)
    pid, _since = serving_since(box)
    on_box(box, f"rm -rf {APP}/venv")
    first = apply(live_dirs, path)
    did = ran(first)
    assert any(f"{uv.BINARY} venv" in line for line in did), did
    why = [str(e["why"]) for e in events(first) if e["event"] == "change_started" and e["step"] == "app_server"]
    assert any("packages in its virtual environment changed after it started" in line for line in why), why
    new_pid, since = serving_since(box)
    made = float(on_box(box, f"stat -c %.6Y {APP}/venv/pyvenv.cfg").stdout)
    assert new_pid != pid and since > made, (pid, new_pid, since, made)
    assert page(box) == "shape=uv iniconfig=2.0.0 dev=absent\n\n200"
    again = apply(live_dirs, path)
    assert finished(again)["changes"] == 0, ran(again)

def test_a_wheel_whose_hash_differs_is_refused_on_the_server(box) -> None:
    argv = list(uv.fetch().bits)
    at = argv.index(uv.BINARY)
    argv[at] = "/opt/deploy-wizard/bin/uv-tampered"
    for index in range(at + 5, len(argv), 3):
        argv[index + 2] = "0" * 64  # every pin's hash: the real wheel from PyPI no longer matches
    done = on_box(box, shlex.join(argv))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "does not have uv's pinned SHA-256" in done.stderr and "Traceback" not in done.stderr
    left = on_box(box, "ls -A /opt/deploy-wizard/bin 2>/dev/null").stdout.split()
    assert not [name for name in left if name != f"uv-{uv.VERSION}"], left  # nothing tampered, no temporary file
