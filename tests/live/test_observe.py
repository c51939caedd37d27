"""Issue 20 live, on one sandbox and one apply: deploys from CI (5.3) and logs read from here (5.1).

The app (tests/live/projects/observe) answers with the release that served it, fails /boom on purpose (logging
its DATABASE_URL, password included) and is slow on /slow. After one apply of the whole recipe, the tests run
`deploy-wizard deploy` exactly as examples/ci/ runs it, and `deploy-wizard logs` as an operator would.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git, git_daemon, make_repo

PROJECT = Path(__file__).parent / "projects" / "observe"
HOST = "observe.example.test"
DB_PASSWORD = "0bserve-Pw-k3"  # noqa: S105  (a test password for a throwaway server)
SECRET_ENV = {"OBSERVE_DB_PASSWORD": DB_PASSWORD}


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "observe", PROJECT)
    with git_daemon(bare.parent, box.host_ip) as git_url:
        recipe = write_recipe(live_dirs / "observe.yaml", box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: observe
  python: {{}}
  code:
    repo: {git_url}/observe.git
  database:
    engine: postgresql
    password: env:OBSERVE_DB_PASSWORD
    migrate: command
    migrate_command: python migrate.py
  app_server:
    module: app:app
    workers: 2
    health_path: /health
    watch: 3
  nginx:
    server_names: [{HOST}]
""")
        yield {"work": work, "bare": bare, "recipe": recipe}


@pytest.fixture(scope="module")
def first(box, live_dirs, lab):
    result = cli(live_dirs, "apply", str(lab["recipe"]), "--yes", "--json", env=SECRET_ENV, timeout=1500)
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-2000:])
    return result


def push(lab, name: str, text: str) -> str:
    (lab["work"] / name).write_text(text)
    git("add", "-A", cwd=lab["work"])
    git("commit", "-q", "-m", f"change {name}", cwd=lab["work"])
    git("push", "-q", str(lab["bare"]), "main", cwd=lab["work"])
    return git("rev-parse", "HEAD", cwd=lab["work"])


def page(box, path: str = "/") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "-H", f"Host: {HOST}", f"http://{box.ip}{path}"], capture_output=True,
                          text=True, timeout=30)


def deploy(live_dirs, lab, ref: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line of examples/ci/github-actions.yml, with --json to read what ran."""
    return cli(live_dirs, "deploy", str(lab["recipe"]), "--ref", ref, "--json", env=SECRET_ENV if env is None else env,
               timeout=600)


def test_deploy_ships_a_branch_through_the_release_steps_only(box, live_dirs, lab, first) -> None:
    nginx_site = on_box(box, "sha256sum /etc/nginx/sites-available/live").stdout
    commit = push(lab, "message.txt", "second release\n")
    result = deploy(live_dirs, lab, "main")
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-2000:])
    started = [e for e in events(result) if e["event"] == "run_started"][0]
    assert started["steps"] == ["code", "database", "app_server"]  # not os_updates, python, nginx
    assert page(box).stdout.strip() == commit[:12]  # through nginx: the new release serves
    rows = on_box(box, "sudo -u postgres psql -tAc 'select release from migrated order by at' live").stdout.split()
    assert rows[-1] == commit[:12], rows  # its migration ran
    assert on_box(box, "sha256sum /etc/nginx/sites-available/live").stdout == nginx_site
    again = deploy(live_dirs, lab, commit)  # the same commit, as CI passes $GITHUB_SHA: nothing to do
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


def test_deploy_refuses_a_ref_that_names_nothing_and_a_missing_secret(box, live_dirs, lab, first) -> None:
    live = on_box(box, "readlink /srv/live/current").stdout
    missing = deploy(live_dirs, lab, "no-such-branch")
    assert missing.returncode == 2, (missing.stdout[-2000:], missing.stderr[-2000:])
    assert "--ref no-such-branch" in missing.stderr and "no branch or tag named no-such-branch" in missing.stderr
    no_secret = deploy(live_dirs, lab, "main", env={})
    assert no_secret.returncode == 2, (no_secret.stdout[-2000:], no_secret.stderr[-2000:])
    assert "OBSERVE_DB_PASSWORD" in no_secret.stderr
    bad = deploy(live_dirs, lab, "bad;ref")
    assert bad.returncode == 2 and "code.ref" in bad.stderr, bad.stderr
    assert on_box(box, "readlink /srv/live/current").stdout == live
