"""Live: a private repository over SSH with a deploy key (the run pauses until the key is added), the git host's
key pinned (the run pauses on the key the server meets until it is confirmed or pinned), and the MariaDB engine
with a password that only ever travels as its hash."""

from __future__ import annotations

import os
import subprocess

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.services import make_repo
from wizard.lab import sandbox

STEPS = """  deploy_user:
    name: shop
  python: {}
  code:
    repo: git@127.0.0.1:/srv/git/shop.git
    deploy_key: true
    requirements: null
  database:
    engine: mariadb
    password: env:SHOP_DB_PASSWORD
    schema_changes: migrations
"""


def test_deploy_key_flow_and_mariadb(box, live_dirs) -> None:
    # a git server on the box itself, reachable only with a key it knows
    setup = on_box(box, "set -e; apt-get install -y -q git >/dev/null 2>&1; useradd -m -s /usr/bin/git-shell git; "
                        "mkdir -p /srv/git ~git/.ssh && git init -q --bare -b main /srv/git/shop.git && echo ok")
    assert setup.stdout.strip() == "ok", setup.stderr
    work, _ = make_repo(live_dirs / "git")
    ssh = " ".join(sandbox.ssh_command(box.name, "root")[:-1])
    subprocess.run(["git", "push", "-q", f"root@{box.ip}:/srv/git/shop.git", "main"], cwd=work, check=True,
                   env={**os.environ, "GIT_SSH_COMMAND": ssh})
    on_box(box, "chown -R git:git /srv/git ~git")
    recipe = write_recipe(live_dirs / "private.yaml", box, STEPS)
    env = {"SHOP_DB_PASSWORD": "maria's pass%word"}
    pin = on_box(box, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]

    unpinned = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=env)
    assert unpinned.returncode == 1  # nobody to confirm the git host's key: the run says which one, and how to pin
    failed = [e for e in events(unpinned) if e["event"] == "step_failed"]
    assert failed[0]["step"] == "code" and f"code.repo_host_key: {pin}" in failed[0]["error"], failed
    assert on_box(box, "test -e /srv/live/shared/ssh/known_hosts || echo absent").stdout.strip() == "absent"

    recipe.write_text(recipe.read_text().replace("    deploy_key: true\n",
                                                 f"    deploy_key: true\n    repo_host_key: '{pin}'\n"))
    first = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=env)
    assert first.returncode == 1
    failed = [e for e in events(first) if e["event"] == "step_failed"]
    assert failed[0]["step"] == "code" and "read-only deploy key" in failed[0]["error"]
    kept = on_box(box, "ssh-keygen -lf /srv/live/shared/ssh/known_hosts").stdout
    assert pin in kept and len(kept.splitlines()) == 1  # the pinned key only
    public = on_box(box, "cat /srv/live/shared/ssh/deploy_key.pub")
    key = public.stdout.strip()
    assert key.startswith("ssh-ed25519 ") and key in failed[0]["error"]  # the operator was shown the key

    on_box(box, f"echo '{key}' >> ~git/.ssh/authorized_keys && chown git:git ~git/.ssh/authorized_keys")
    second = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=env)
    assert second.returncode == 0, [e for e in events(second) if e["event"] == "step_failed"]
    assert on_box(box, "test -f /srv/live/current/app.py && echo yes").stdout.strip() == "yes"
    login = on_box(box, "mysql -u live -p\"$(cat)\" live -N -e 'select 42'", stdin=env["SHOP_DB_PASSWORD"])
    assert login.stdout.strip() == "42", login.stderr
    assert "maria's pass%word" not in second.stdout + second.stderr
    # two users (issue 17, item 9): the app's reads and writes rows, the owner's (for migrations) changes tables
    refused = on_box(box, "mysql -u live -p\"$(cat)\" live -e 'CREATE TABLE t (id INT)'", stdin=env["SHOP_DB_PASSWORD"])
    assert refused.returncode != 0 and "command denied" in refused.stderr, refused.stderr
    grants = on_box(box, "mysql -N -e \"SHOW GRANTS FOR 'live'@'localhost'\"").stdout
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON `live`.*" in grants, grants
    owner = on_box(box, "stat -c %a /srv/live/shared/env/database-owner.env && pw=$(sed -n "
                        "'s|^DATABASE_URL=mysql://live_owner:\\([0-9a-f]*\\)@.*|\\1|p' "
                        "/srv/live/shared/env/database-owner.env) && mysql -u live_owner -p\"$pw\" live "
                        "-e 'CREATE TABLE t (id INT); DROP TABLE t' && echo owner-ok")
    assert owner.stdout.split() == ["600", "owner-ok"], owner.stdout + owner.stderr
    url = on_box(box, "cat /srv/live/shared/env/database.env").stdout
    assert url.rstrip().endswith("@127.0.0.1:3306/live?charset=utf8mb4")  # all of Unicode, not MariaDB's utf8
    headers = on_box(box, "dpkg-query -W -f '${Status}\\n' default-libmysqlclient-dev pkg-config build-essential")
    assert headers.stdout.count("install ok installed") == 3  # what pip needs to build mysqlclient
    third = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=env)
    assert finished(third)["changes"] == 0

