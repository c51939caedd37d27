"""Issue 20 live, on one sandbox and one apply: deploys from CI (5.3) and logs read from here (5.1).

The app (tests/live/projects/observe) answers with the release that served it, fails /boom on purpose (logging
its DATABASE_URL, password included) and is slow on /slow. After one apply of the whole recipe, the tests run
`deploy-wizard deploy` exactly as examples/ci/ runs it, and `deploy-wizard logs` as an operator would.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
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


def logs(live_dirs, lab, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, "logs", str(lab["recipe"]), *args, env=SECRET_ENV if env is None else env, timeout=120)


def test_a_second_apply_changes_nothing(live_dirs, lab, first) -> None:
    again = cli(live_dirs, "apply", str(lab["recipe"]), "--yes", "--json", env=SECRET_ENV, timeout=900)
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


def test_logs_of_the_app_and_nginx_are_read_from_here_with_secrets_masked(box, live_dirs, lab, first) -> None:
    assert page(box, "/boom").stdout == "boom\n"
    assert page(box, "/slow").stdout.strip()
    app = logs(live_dirs, lab, "--grep", "failing on purpose")
    assert app.returncode == 0, app.stderr
    assert "boom: failing on purpose, connected with postgresql://" in app.stdout, app.stdout[-2000:]
    assert DB_PASSWORD not in app.stdout and "***" in app.stdout
    nginx = logs(live_dirs, lab, "--service", "nginx", "--since", "10m", "--grep", "GET /(boom|slow)")
    assert nginx.returncode == 0, nginx.stderr
    boom = [line for line in nginx.stdout.splitlines() if "GET /boom" in line]
    slow = [line for line in nginx.stdout.splitlines() if "GET /slow" in line]
    assert boom and '" 500 ' in boom[-1] and " rt=" in boom[-1] and " urt=" in boom[-1], nginx.stdout[-2000:]
    assert slow and float(slow[-1].split(" rt=")[1].split()[0]) >= 0.4, slow  # the app's 0.4 s, as nginx timed it
    mode = on_box(box, "stat -c '%a %U %G' /var/log/nginx/live.access.log").stdout.split()
    assert mode == ["640", "www-data", "adm"], mode
    db = logs(live_dirs, lab, "--service", "db", "-n", "5")
    assert db.returncode == 0 and db.stdout.strip(), db.stderr  # PostgreSQL's own log file, read with sudo
    system = logs(live_dirs, lab, "--service", "system", "--since", "5m", "--grep", "live@")
    assert system.returncode == 0 and "live@" in system.stdout, system.stderr
    bad = logs(live_dirs, lab, "--service", "mail")
    assert bad.returncode == 2 and "--service: 'mail' is not a service" in bad.stderr


def test_logs_follow_shows_a_request_as_it_happens(box, live_dirs, lab, first) -> None:
    command = [sys.executable, "-m", "wizard", "logs", str(lab["recipe"]), "--service", "nginx", "-f", "-n", "0",
               "--grep", "GET /followed"]
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en", **SECRET_ENV}
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env=env, stdin=subprocess.DEVNULL)
    try:
        seen = ""
        for _attempt in range(30):  # the follower connects first; ask again until its line arrives
            page(box, "/followed")
            ready, _w, _x = select.select([follower.stdout], [], [], 1.0)
            if ready:
                seen = follower.stdout.readline()
                break
        assert "GET /followed" in seen and " 200 " in seen, seen
    finally:
        follower.terminate()
        follower.wait(10)
