"""Live: a reload of nginx is done when nginx serves the new configuration, and a reload nginx refused is said.

`systemctl reload nginx` returns once nginx was signalled. Proven the way a visitor sees it: a name added to the
site answers with the app's page as soon as apply returns, not with the catch-all's empty reply. And a reload
that `nginx -t` passes but nginx itself refuses (a port another program holds, bound only at reload) fails the
apply with the reason instead of reporting done while the old site goes on; the run after the port is freed
reloads, although every file is already as the recipe wants it, and the run after that changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import git_daemon, make_repo

PROJECTS = Path(__file__).parent / "projects"
HELD = "/etc/nginx/conf.d/zz-test-held-port.conf"


@pytest.fixture(scope="module")
def repo(box, live_dirs):
    _work, bare = make_repo(live_dirs / "git", "reload", PROJECTS / "pyproject_only")
    with git_daemon(bare.parent, box.host_ip) as git_url:
        yield f"{git_url}/reload.git"


def recipe(box, live_dirs, repo: str, names: list[str]) -> Path:
    return write_recipe(live_dirs / "reload.yaml", box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: reload
  python: {{}}
  code:
    repo: {repo}
  app_server:
    module: app:app
  nginx:
    server_names: [{", ".join(names)}]
""")


def apply(live_dirs, path: Path) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, "apply", str(path), "--yes", "--json", timeout=1500)


def page(box, name: str) -> str:
    answer = subprocess.run(["curl", "-sS", "-m", "20", "--resolve", f"{name}:80:{box.ip}", "-w", "\n%{http_code}",
                             f"http://{name}/"], capture_output=True, text=True)
    return answer.stdout + answer.stderr


def test_a_name_added_to_the_site_answers_as_soon_as_apply_returns(box, live_dirs, repo) -> None:
    names = ["one.example.test"]
    first = apply(live_dirs, recipe(box, live_dirs, repo, names))
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    for n in range(2, 5):
        names.append(f"name{n}.example.test")
        added = apply(live_dirs, recipe(box, live_dirs, repo, names))
        assert added.returncode == 0, added.stdout[-4000:] + added.stderr[-2000:]
        assert page(box, names[-1]).startswith("shape=pyproject-only"), page(box, names[-1])


def test_a_reload_nginx_refuses_fails_the_apply_and_the_next_run_reloads(box, live_dirs, repo) -> None:
    on_box(box, "systemd-run --unit held-port python3 -c 'import socket, time; s = socket.socket(); "
                "s.bind((\"127.0.0.1\", 8099)); s.listen(); time.sleep(3600)' && sleep 1")
    on_box(box, f"echo 'server {{ listen 127.0.0.1:8099; return 204; }}' > {HELD}")
    assert on_box(box, "nginx -t -q").returncode == 0  # nginx -t binds nothing: only the reload meets the port
    names = ["one.example.test", "held.example.test"]
    refused = apply(live_dirs, recipe(box, live_dirs, repo, names))
    said = refused.stdout + refused.stderr
    assert refused.returncode == 1, said[-4000:]
    assert "nginx still runs its old workers 10 s after the reload" in said, said[-4000:]
    assert "Traceback" not in said
    assert not page(box, "held.example.test").startswith("shape="), "nginx serves a site it refused to load"

    on_box(box, "systemctl stop held-port")
    again = apply(live_dirs, recipe(box, live_dirs, repo, names))
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    did = [str(e["why"]) for e in events(again) if e["event"] == "change_started" and e["step"] == "nginx"]
    assert any(why.startswith("reload nginx: files changed after it last loaded them (") for why in did), did
    assert page(box, "held.example.test").startswith("shape=pyproject-only")
    assert finished(apply(live_dirs, recipe(box, live_dirs, repo, names)))["changes"] == 0
    on_box(box, f"rm -f {HELD} && nginx -t -q && systemctl reload nginx")
