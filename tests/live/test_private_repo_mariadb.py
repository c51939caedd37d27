"""Live: a private repository over SSH with a deploy key (the run pauses until the key is added), the git host's
key pinned (the run pauses on the key the server meets until it is confirmed or pinned), and the MariaDB engine
with a password that only ever travels as its hash.

Then MariaDB's backups (issue 16) on the same server: rows written, `deploy-wizard backup` (mariadb-dump
--single-transaction, read back to its end, the rows counted) copied off the server with rsync over SSH to a
second sandbox (another host, with its own pinned host key), the database dropped, `deploy-wizard restore`, the
rows read back as the app's user; the restore drill passes on that set and fails on a cut-off dump and on a dump
of an empty database; a second apply changes nothing. Then the copy as an encrypted restic repository on that
host (sftp, the same pinned host key): created on apply, ciphertext only there, the set brought back from it
with `restore --from offsite:latest` and restored, a wrong password refused naming the field, 0 changes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.live.conftest import boot, cli, events, finished, on_box, write_recipe
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


BACKUPS = """  backups:
    keep_daily: 3
    free_reserve_mb: 64
    offsite_target: ops@{ip}:/home/ops/offsite
    offsite_host_key: "{fingerprint}"
    offsite_key: file:{key}
"""
DIR = "/var/backups/deploy-wizard-data/live"
ENV = {"SHOP_DB_PASSWORD": "maria's pass%word"}


def backup_host(live_dirs) -> tuple[sandbox.SandboxInfo, Path]:
    """Another host for the off-server copy: a second sandbox, its `ops` account reached with a key made for it."""
    key = live_dirs / "offsite_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "backups", "-f", str(key)], check=True)
    other = boot(live_dirs)
    ready = on_box(other, "set -e; command -v rsync >/dev/null || apt-get install -y -q rsync >/dev/null 2>&1; "
                          "install -d -m 0700 -o ops -g ops /home/ops/.ssh /home/ops/offsite; "
                          "cat >> /home/ops/.ssh/authorized_keys; chown ops:ops /home/ops/.ssh/authorized_keys; "
                          "echo ok",
                   stdin=(live_dirs / "offsite_key.pub").read_text())
    assert ready.stdout.strip() == "ok", ready.stderr
    return other, key


def as_app(box, sql: str) -> subprocess.CompletedProcess[str]:
    """SQL as the app's own database user (rows, not tables)."""
    return on_box(box, f"mysql -u live -p\"$(cat)\" live -N -e {shlex.quote(sql)}", stdin=ENV["SHOP_DB_PASSWORD"])


def test_mariadb_backup_offsite_restore_and_drill(box, live_dirs) -> None:
    recipe = live_dirs / "private.yaml"  # the previous test's recipe, applied on this server
    # rows, written by the migrations' owner (the table) and the app (the rows)
    made = on_box(box, "pw=$(sed -n 's|^DATABASE_URL=mysql://live_owner:\\([0-9a-f]*\\)@.*|\\1|p' "
                       "/srv/live/shared/env/database-owner.env) && mysql -u live_owner -p\"$pw\" live "
                       "-e 'CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, text VARCHAR(40) NOT NULL)'")
    assert made.returncode == 0, made.stderr
    rows = ", ".join(f"('row {i}')" for i in range(42))
    assert as_app(box, f"INSERT INTO notes (text) VALUES {rows}").returncode == 0
    other, key = backup_host(live_dirs)
    try:
        recipe.write_text(recipe.read_text() + BACKUPS.format(ip=other.ip, fingerprint=other.fingerprint, key=key))
        applied = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
        assert applied.returncode == 0, [e for e in events(applied) if e["event"] == "step_failed"]

        taken = cli(live_dirs, "backup", str(recipe), env=ENV)
        assert taken.returncode == 0, taken.stdout + taken.stderr
        name = re.findall(r"backup: kept \S+/(\d{8}T\d{6}Z-manual) \([^,]+, 42 rows\)", taken.stdout)[-1]
        modes = on_box(box, f"stat -c '%a %U' {DIR} {DIR}/{name} {DIR}/{name}/db.sql.gz")
        assert modes.stdout.split("\n")[:3] == ["700 root", "700 root", "600 root"]
        assert f"backup: copied to ops@{other.ip}:/home/ops/offsite" in taken.stdout
        there = on_box(other, f"ls /home/ops/offsite/{name}; zcat /home/ops/offsite/{name}/db.sql.gz | "
                              "grep -c '^INSERT INTO `notes`'")
        assert there.stdout.split() == ["counts", "db.sql.gz", "meta", "42"], there.stdout + there.stderr

        # the data is lost
        assert on_box(box, "mariadb -e 'DROP DATABASE live'").returncode == 0
        assert as_app(box, "SELECT count(*) FROM notes").returncode != 0
        restored = cli(live_dirs, "restore", str(recipe), "--from", name, "--yes", env=ENV)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"restore: restored {name}" in restored.stdout
        back = as_app(box, "SELECT count(*), min(text), max(id) FROM notes")
        assert back.stdout.split("\t") == ["42", "row 0", "42\n"], back.stdout + back.stderr

        # the drill as its timer runs it, then on a cut-off dump and on a dump of an empty database
        drill = on_box(box, f"systemctl start live-drill.service; cat {DIR}/drill.status")
        assert drill.stdout.startswith(f"ok {name} "), drill.stdout + drill.stderr
        cut, empty = "20000101T000000Z-manual", "20000102T000000Z-manual"
        sets = on_box(box, f"""set -e
            cp -a {DIR}/{name} {DIR}/{cut}
            size=$(stat -c %s {DIR}/{cut}/db.sql.gz); truncate -s $((size / 2)) {DIR}/{cut}/db.sql.gz
            mariadb -e 'CREATE DATABASE dw_empty_source'
            install -d -m 0700 {DIR}/{empty}
            mariadb-dump --single-transaction dw_empty_source | gzip > {DIR}/{empty}/db.sql.gz
            mariadb -e 'DROP DATABASE dw_empty_source'
            : > {DIR}/{empty}/counts; printf 'kind=manual\\nengine=mariadb\\n' > {DIR}/{empty}/meta""")
        assert sets.returncode == 0, sets.stderr
        broken = cli(live_dirs, "backup", str(recipe), "--drill", cut, env=ENV)
        assert broken.returncode == 1 and "drill: FAILED:" in broken.stdout + broken.stderr, broken.stdout
        nothing = cli(live_dirs, "backup", str(recipe), "--drill", empty, env=ENV)
        assert nothing.returncode == 1
        assert "drill: FAILED: the set has no row counts" in nothing.stdout + nothing.stderr
        on_box(box, f"rm -rf {DIR}/{cut} {DIR}/{empty}")
        assert cli(live_dirs, "backup", str(recipe), "--drill", env=ENV).returncode == 0
        again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
        assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change"]
        restic_copy(box, other, live_dirs, recipe)
    finally:
        sandbox.down(other.name, progress=lambda m: None)


RESTIC_ENV = {**ENV, "LIVE_RESTIC_PASSWORD": "restic-Pw-8841"}


def restic_copy(box, other, live_dirs, recipe) -> None:
    """The same copy as an encrypted restic repository on the other host, over sftp with the pinned host key:
    created by the first apply, a snapshot per backup (ciphertext only there), the set brought back from it and
    restored, a wrong password refused naming the field, and a second apply with nothing to do."""
    assert on_box(other, "install -d -m 0700 -o ops -g ops /home/ops/restic").returncode == 0
    recipe.write_text(recipe.read_text().replace(":/home/ops/offsite\n", ":/home/ops/restic\n") +
                      "    offsite_kind: restic\n    offsite_password: env:LIVE_RESTIC_PASSWORD\n")
    made = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=RESTIC_ENV)
    assert made.returncode == 0, [e for e in events(made) if e["event"] == "step_failed"]
    assert RESTIC_ENV["LIVE_RESTIC_PASSWORD"] not in made.stdout + made.stderr
    kept = on_box(box, "stat -c '%a %U' /etc/deploy-wizard/backups/live/restic_password").stdout.strip()
    assert kept == "600 root"
    assert on_box(other, "test -f /home/ops/restic/config && echo repo").stdout.strip() == "repo"

    taken = cli(live_dirs, "backup", str(recipe), env=RESTIC_ENV)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    name = re.findall(r"backup: kept \S+/(\d{8}T\d{6}Z-manual) \([^,]+, 42 rows\)", taken.stdout)[-1]
    assert f"backup: copied to sftp:ops@{other.ip}:/home/ops/restic (restic snapshot of {name})" in taken.stdout
    # encrypted at rest: no row, no table name, no set name readable there
    leaked = on_box(other, f"grep -rlaE 'row 41|notes|{name}' /home/ops/restic | head -3; ls /home/ops/restic")
    assert leaked.stdout.split() == ["config", "data", "index", "keys", "locks", "snapshots"], leaked.stdout

    # the server's data lost, its set too: only the restic copy has it
    assert on_box(box, f"mariadb -e 'DROP DATABASE live' && rm -rf {DIR}/{name}").returncode == 0
    restored = cli(live_dirs, "restore", str(recipe), "--from", "offsite:latest", "--yes", env=RESTIC_ENV)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"restore: fetched {name}" in restored.stdout and f"restore: restored {name}" in restored.stdout
    back = as_app(box, "SELECT count(*), min(text), max(id) FROM notes")
    assert back.stdout.split("\t") == ["42", "row 0", "42\n"], back.stdout + back.stderr
    # the timer's backup, in its unit's sandbox, adds its snapshot too
    timed = on_box(box, "systemctl start live-backup.service && journalctl -u live-backup.service -n 20 --no-pager")
    assert timed.returncode == 0, timed.stdout + timed.stderr
    assert re.search(r"copied to sftp:\S+ \(restic snapshot of \d{8}T\d{6}Z-scheduled\)", timed.stdout), \
        timed.stdout + timed.stderr

    password = "sha256sum /etc/deploy-wizard/backups/live/restic_password; ls /etc/deploy-wizard/backups/live"
    working = on_box(box, password).stdout
    wrong = cli(live_dirs, "apply", str(recipe), "--yes", "--json",
                env={**RESTIC_ENV, "LIVE_RESTIC_PASSWORD": "not-it-at-all"})
    failed = [e for e in events(wrong) if e["event"] == "step_failed"]
    assert wrong.returncode != 0 and failed and failed[0]["step"] == "backups", failed
    assert f"backups.offsite_password: the restic repository sftp:ops@{other.ip}:/home/ops/restic refuses this " \
           "password" in failed[0]["error"], failed
    # refused before it replaced anything: the working password file is the same, no restic_password.new is left
    assert on_box(box, password).stdout == working
    fixed = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=RESTIC_ENV)
    assert fixed.returncode == 0, [e for e in events(fixed) if e["event"] == "step_failed"]
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=RESTIC_ENV)
    assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change"]
    checked = cli(live_dirs, "check", str(recipe), env=RESTIC_ENV)
    assert f"restic check: the repository sftp:ops@{other.ip}:/home/ops/restic has no errors" in checked.stdout, \
        checked.stdout[-3000:]
