"""Issue 16, live: scheduled jobs and backups on the Django example with PostgreSQL, on one sandbox.

A job proves it ran by the file it wrote (as the app user, with the app's env, in its sandbox); a failing job's
exit status is in `check`; a job removed from the recipe is gone after apply. Rows and an upload are written,
backed up with `deploy-wizard backup` (and copied off the server with rsync over SSH: here to the sandbox's own
`ops` account at its address, a stand-in for another host), the database dropped and the upload deleted,
`deploy-wizard restore` brings both back and the site answers with them. The restore drill (its unit) passes on
that backup and fails on a cut-off dump and on a dump of an empty database, and `check` reports the failed drill;
an off-server port nobody answers stops the plan naming the field. A new release takes a dump before it
migrates, the timer's backup unit runs in its sandbox, a second apply changes nothing, and `rollback` across the
release that migrated names that dump. Then the step is set up by hand (a dump timer of one's own) and `learn
check` grades it on what holds (issue 21).

The rebuild drill boots a second, fresh sandbox, applies the recipe there (its off-server host: the first
sandbox's `ops` account), and `restore --from offsite:latest` brings the newest set back from that other host:
the same rows and the same upload through the site. It runs with DEPLOY_WIZARD_REBUILD_DRILL=1 only (a second
first apply: about 3 more minutes, beyond CI's budget; `bench/live_full.py backups` sets it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import boot, cli, finished, on_box
from tests.live.services import DJANGO_APP, DJANGO_DOMAIN, django_recipe_text, lab, push_change
from wizard.lab import sandbox

ENV = {"SHOP_DB_PASSWORD": "shop-db-secret", "SHOP_SECRET_KEY": "k" * 60}
DIR = "/var/backups/deploy-wizard-data/shop"
# a one-line Python job without shell syntax: it needs MEDIA_ROOT from the app's env file and a writable uploads
# directory in the app's sandbox
HEARTBEAT = ("python -c \"__import__('pathlib').Path(__import__('os').environ['MEDIA_ROOT'], 'heartbeat.txt')"
             ".write_text(open('release.txt').read())\"")
JOBS = f"""  jobs:
    commands:
      heartbeat: {json.dumps(HEARTBEAT)}
      failing: python -c "raise SystemExit(3)"
    schedules:
      heartbeat: "*:0/30"
      failing: daily
  backups:
    keep_daily: 3
    free_reserve_mb: 64
    offsite_target: ops@{{ip}}:/home/ops/offsite
    offsite_host_key: "{{fingerprint}}"
    offsite_key: file:{{key}}
"""


def recipe_text(served, box, key: Path, jobs: str = JOBS, offsite=None) -> str:
    """The recipe for `box`; its backups are copied to the `ops` account of `offsite` (default: `box` itself)."""
    text = django_recipe_text(served.git_url, served.acme, box.ip)
    other = offsite or box
    return text.rstrip("\n") + "\n" + jobs.format(ip=other.ip, fingerprint=other.fingerprint, key=key)


def offsite_host(box, live_dirs) -> Path:
    """The other host the backups are copied to: here the sandbox's own `ops` account, reached at the sandbox's
    address, with a key made for it (what an operator does once on a real backup host)."""
    key = live_dirs / "offsite_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "backups", "-f", str(key)], check=True)
    ready = on_box(box, "install -d -m 0700 -o ops -g ops /home/ops/.ssh /home/ops/offsite && "
                        "cat >> /home/ops/.ssh/authorized_keys && chown ops:ops /home/ops/.ssh/authorized_keys",
                   stdin=(live_dirs / "offsite_key.pub").read_text())
    assert ready.returncode == 0, ready.stderr
    return key


@pytest.fixture(scope="module")
def shop(box, live_dirs):
    with lab(box, live_dirs, source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN) as served:
        recipe = live_dirs / "shop.yaml"
        recipe.write_text(recipe_text(served, box, offsite_host(box, live_dirs)))
        apply(live_dirs, recipe)
        yield {"recipe": recipe, "served": served, "ca": served.root_ca(live_dirs / "pebble-root.pem")}


def apply(live_dirs, recipe) -> dict[str, object]:
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return finished(result)


def run(live_dirs, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, *args, env=ENV, timeout=900)


def https(box, ca, path: str, *extra: str) -> str:
    return subprocess.run(["curl", "-sS", "-m", "20", "--cacert", str(ca), "--resolve", f"{DJANGO_DOMAIN}:443:{box.ip}",
                           "-w", "\n%{http_code}", *extra, f"https://{DJANGO_DOMAIN}{path}"],
                          capture_output=True, text=True).stdout


def kept_set(output: str) -> str:
    found = re.findall(r"backup: kept \S+/(\d{8}T\d{6}Z-[a-z0-9_.-]+) ", output)
    assert found, output
    return found[-1]


def test_jobs_run_as_the_app_and_a_failure_shows_in_check(box, live_dirs, shop) -> None:
    started = on_box(box, "systemctl start shop-job-heartbeat.service && "
                          "stat -c '%U %a' /srv/shop/shared/media/heartbeat.txt && "
                          "cat /srv/shop/shared/media/heartbeat.txt")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines() == ["shop 644", "first release"]  # the app user, in the live release
    failed = on_box(box, "systemctl start shop-job-failing.service")
    assert failed.returncode != 0
    checked = run(live_dirs, "check", str(shop["recipe"]))
    assert "job failing: the last run at" in checked.stdout, checked.stdout
    assert "exit status 3" in checked.stdout
    assert "journalctl -u shop-job-failing.service -n 50 --no-pager" in checked.stdout


def test_backup_restore_and_drill(box, live_dirs, shop) -> None:
    recipe, ca = str(shop["recipe"]), shop["ca"]
    wrote = run(live_dirs, "run", recipe, "--", "python", "manage.py", "shell", "-c",
                "from notes.models import Note; Note.objects.bulk_create(Note(text=f'row {i}') for i in range(41))")
    assert wrote.returncode == 0, wrote.stderr
    assert https(box, ca, "/upload?name=photo", "-X", "POST", "--data-binary", "an uploaded file") == \
        "/media/photo.txt\n\n200"
    assert https(box, ca, "/").endswith("notes: 42\n\n200")

    taken = run(live_dirs, "backup", recipe)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    name = kept_set(taken.stdout)
    assert "42 rows" in taken.stdout or re.search(r"\d+ rows", taken.stdout)
    modes = on_box(box, f"stat -c '%a %U' {DIR} {DIR}/{name} {DIR}/{name}/db.pgdump {DIR}/{name}/media.tar.gz")
    assert modes.stdout.split("\n")[:4] == ["700 root", "700 root", "600 root", "600 root"]
    assert f"backup: copied to ops@{box.ip}:/home/ops/offsite" in taken.stdout
    assert on_box(box, f"ls /home/ops/offsite/{name}").stdout.split() == ["counts", "db.pgdump", "media.tar.gz",
                                                                            "meta"]

    # the data is lost: the database dropped, the upload deleted
    lost = on_box(box, "runuser -u postgres -- dropdb --force shop && rm /srv/shop/shared/media/photo.txt")
    assert lost.returncode == 0, lost.stderr
    assert not https(box, ca, "/").endswith("\n200")

    refused = run(live_dirs, "restore", recipe, "--from", name)
    assert refused.returncode == 2 and "--yes" in refused.stderr  # no terminal: it never restores unasked
    restored = run(live_dirs, "restore", recipe, "--from", name, "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restore: stopping:" in restored.stdout and "restore: starting again:" in restored.stdout
    assert "maintenance mode is on while the data is restored" in restored.stdout  # a 503 page, not a 502
    assert "maintenance mode is off" in restored.stdout
    assert https(box, ca, "/").endswith("notes: 42\n\n200")
    assert https(box, ca, "/media/photo.txt") == "an uploaded file\n200"

    # the drill as its timer runs it: the unit, in its sandbox
    drill = on_box(box, f"systemctl start shop-drill.service; cat {DIR}/drill.status")
    assert drill.stdout.startswith(f"ok {name} "), drill.stdout + drill.stderr

    # a dump cut off half way, and a dump of an empty database, each in a set of their own
    cut, empty = "20000101T000000Z-manual", "20000102T000000Z-manual"
    made = on_box(box, f"""set -e
        cp -a {DIR}/{name} {DIR}/{cut}
        size=$(stat -c %s {DIR}/{cut}/db.pgdump); truncate -s $((size / 2)) {DIR}/{cut}/db.pgdump
        runuser -u postgres -- createdb dw_empty_source
        install -d -m 0700 {DIR}/{empty}
        runuser -u postgres -- pg_dump -Fc -d dw_empty_source > {DIR}/{empty}/db.pgdump
        runuser -u postgres -- dropdb dw_empty_source
        : > {DIR}/{empty}/counts; printf 'kind=manual\\n' > {DIR}/{empty}/meta""")
    assert made.returncode == 0, made.stderr
    broken = run(live_dirs, "backup", recipe, "--drill", cut)
    assert broken.returncode == 1
    assert "drill: FAILED: pg_restore of 20000101T000000Z-manual failed" in broken.stdout + broken.stderr
    nothing = run(live_dirs, "backup", recipe, "--drill", empty)
    assert nothing.returncode == 1
    assert "drill: FAILED: the set has no row counts" in nothing.stdout + nothing.stderr
    checked = run(live_dirs, "check", recipe)
    assert "the last restore drill failed at" in checked.stdout and empty in checked.stdout, checked.stdout
    on_box(box, f"rm -rf {DIR}/{cut} {DIR}/{empty}")
    # an off-server host that does not answer stops the plan, naming the field
    unreachable = run(live_dirs, "plan", recipe, "--set", "backups.offsite_port=1")
    assert unreachable.returncode != 0
    assert f"backups.offsite_target: {box.ip} port 1 does not answer SSH" in unreachable.stdout + unreachable.stderr
    again = run(live_dirs, "backup", recipe, "--drill")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_removed_job_is_gone_a_migrating_release_dumps_first_and_a_second_apply_changes_nothing(
        box, live_dirs, shop) -> None:
    text = shop["recipe"].read_text()
    shop["recipe"].write_text(text.replace('      failing: python -c "raise SystemExit(3)"\n', "")
                              .replace("      failing: daily\n", ""))
    served = shop["served"]
    push_change(served.work, served.bare, "release.txt", "second release\n")
    apply(live_dirs, shop["recipe"])
    release = on_box(box, "readlink /srv/shop/current").stdout.strip().rsplit("/", 1)[-1]
    dumped = on_box(box, f"ls {DIR} | grep -- '-premigrate-{release}$'").stdout.split()
    assert len(dumped) == 1, on_box(box, f"ls {DIR}").stdout  # taken before the second release migrated
    # a backup as its timer takes it: the unit, in its sandbox
    timed = on_box(box, f"systemctl start shop-backup.service && ls {DIR} | grep -c -- '-scheduled$'")
    assert timed.returncode == 0 and timed.stdout.strip() == "1", timed.stdout + timed.stderr
    units = on_box(box, "ls /etc/systemd/system | grep '^shop-job-'; systemctl list-timers --all --no-legend "
                        "'shop-job-*' | grep -o 'shop-job-[a-z_]*.timer'")
    assert units.stdout.split() == ["shop-job-heartbeat.service", "shop-job-heartbeat.timer",
                                    "shop-job-heartbeat.timer"]
    second = apply(live_dirs, shop["recipe"])
    assert second["changes"] == 0, second
    # going back across the release that migrated says so, and names the dump taken before it
    back = run(live_dirs, "rollback", str(shop["recipe"]), "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"Release {release} ran migrations" in back.stdout
    assert f"deploy-wizard restore {shop['recipe']} --from {dumped[0]}" in back.stdout


# issue 21: the backups step set up by hand, the way a person would: a script of their own calling pg_dump, a timer
# and a service of other names, gzipped plain SQL in a directory of their own under /var/backups
BY_HAND = """install -d -m 0700 /var/backups/by-hand
cat > /usr/local/sbin/dump-shop <<'END'
#!/bin/sh
# nightly dump of the shop database
set -e
runuser -u postgres -- pg_dump shop | gzip > "/var/backups/by-hand/shop-$(date +%Y%m%d%H%M%S).sql.gz"
END
chmod 0700 /usr/local/sbin/dump-shop
cd /etc/systemd/system
printf '[Service]\\nType=oneshot\\nExecStart=/usr/local/sbin/dump-shop\\n' > nightly-dump.service
printf '[Timer]\\nOnCalendar=*-*-* 02:30\\n\\n[Install]\\nWantedBy=timers.target\\n' > nightly-dump.timer
systemctl daemon-reload
systemctl disable --quiet --now shop-backup.timer shop-drill.timer
systemctl enable --quiet --now nightly-dump.timer
systemctl start nightly-dump.service
"""
UNDONE = """systemctl disable --quiet --now nightly-dump.timer; rm -f /etc/systemd/system/nightly-dump.*
rm -rf /usr/local/sbin/dump-shop /var/backups/by-hand; systemctl daemon-reload
systemctl enable --quiet --now shop-backup.timer shop-drill.timer"""


def test_backups_done_by_hand_are_graded_on_what_holds(box, live_dirs, shop) -> None:
    """`learn check` on this server (`learn --host`): with the step's own timers off, a dump timer of one's own
    passes, the step's units being differences only; a cut-off dump and a timer that is not enabled fail, each
    with its reason; fixed by hand (a new dump, `systemctl enable`), it passes again."""
    def learn(*args: str) -> subprocess.CompletedProcess[str]:
        return run(live_dirs, "learn", "--learner", "ops", *args)

    def graded() -> tuple[int, dict]:
        assert learn("goto", "backups").returncode == 0  # a passed check moves the course on: back to backups
        result = learn("check", "--json")
        data, _end = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("{"):])
        return result.returncode, data

    made = on_box(box, BY_HAND)
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        started = learn("--host", box.ip, "--recipe", str(shop["recipe"]), "--confirm-host", box.ip)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        status, data = graded()
        assert status == 0 and data["passed"], data
        assert [f["reason"] for f in data["findings"]] == [None, None], data["findings"]
        assert not data["missing"] and any("shop-backup.timer" in item["why"] for item in data["differs"]), data
        broken = on_box(box, 'f=$(ls -t /var/backups/by-hand/*.sql.gz | head -n 1) && truncate -s -200 "$f" && '
                             'systemctl disable --quiet nightly-dump.timer && echo "$f"')
        assert broken.returncode == 0, broken.stderr
        status, data = graded()
        assert status == 1 and not data["passed"], data
        assert data["reasons"][:2] == [
            "nightly-dump.timer is started but not enabled: it would not run after a reboot (`systemctl enable "
            "nightly-dump.timer`)",
            f"the newest dump, {broken.stdout.strip()}, does not read back to its end: it is damaged or was cut "
            "off; take a new one"], data["reasons"]
        fixed = on_box(box, "sleep 1; systemctl enable --quiet nightly-dump.timer && "
                            "systemctl start nightly-dump.service")
        assert fixed.returncode == 0, fixed.stderr
        status, data = graded()
        assert status == 0 and data["passed"], data
    finally:
        on_box(box, UNDONE)


@pytest.mark.skipif(os.environ.get("DEPLOY_WIZARD_REBUILD_DRILL") != "1",
                    reason="the rebuild drill boots a second sandbox: DEPLOY_WIZARD_REBUILD_DRILL=1 runs it")
def test_rebuild_drill_on_a_fresh_server(box, live_dirs, shop) -> None:
    """A fresh server, the recipe, and the newest backup set taken from the off-server copy (the first server's
    `ops` account: another host, seen from the fresh one) by `restore --from offsite:latest`: the same rows and
    the same uploads, read through the site."""
    taken = run(live_dirs, "backup", str(shop["recipe"]))
    assert taken.returncode == 0, taken.stdout + taken.stderr
    name = kept_set(taken.stdout)
    before = https(box, shop["ca"], "/")
    assert before.endswith("\n200") and "notes:" in before, before
    fresh = boot(live_dirs)
    try:
        with lab(fresh, live_dirs / "rebuild", source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN) as served:
            rebuilt = live_dirs / "rebuilt.yaml"
            rebuilt.write_text(recipe_text(served, fresh, live_dirs / "offsite_key", offsite=box))
            apply(live_dirs, rebuilt)
            assert run(live_dirs, "backup", str(rebuilt), "--list").stdout.startswith("No backup on")
            # before the first backup here would mirror over them, the plan says the copy has sets and this none
            planned = run(live_dirs, "plan", str(rebuilt))
            assert f"the off-server copy ops@{box.ip}:/home/ops/offsite holds backup sets (the newest: {name})" \
                in planned.stdout, planned.stdout[-3000:]
            restored = run(live_dirs, "restore", str(rebuilt), "--from", "offsite:latest", "--yes")
            assert restored.returncode == 0, restored.stdout + restored.stderr
            assert f"restore: fetching {name} from ops@{box.ip}:/home/ops/offsite" in restored.stdout
            assert f"restore: restored {name}" in restored.stdout
            ca = served.root_ca(live_dirs / "rebuild-root.pem")
            assert https(fresh, ca, "/").split("notes:")[1] == before.split("notes:")[1]
            assert https(fresh, ca, "/media/photo.txt") == "an uploaded file\n200"
            # a set the off-server copy does not have is refused, naming the ones it has
            missing = run(live_dirs, "restore", str(rebuilt), "--from", "offsite:20000101T000000Z-manual", "--yes")
            assert missing.returncode != 0 and f"no backup set 20000101T000000Z-manual in ops@{box.ip}" in \
                missing.stdout + missing.stderr and name in missing.stdout + missing.stderr
    finally:
        sandbox.down(fresh.name, progress=lambda m: None)
