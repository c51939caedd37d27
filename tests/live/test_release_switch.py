"""Issue 15, items 1 and 2, live: releases that cannot take the site down.

One app (tests/live/projects/release_id) answers every request with the release that served it. wrk keeps 32
keep-alive connections busy through nginx while a release goes live, and the test counts from both sides:
every response wrk saw (time, status, release) and the switch window systemd recorded on the server (from the
moment the new release's unit began to start to the moment the old one had stopped).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.load import Load, load, wrk_available
from tests.live.services import git, git_daemon, make_repo

PROJECT = Path(__file__).parent / "projects" / "release_id"
HOST = "switch.example.test"
DB_PASSWORD = "sw1tch-Pw-9k"  # noqa: S105  (a test password for a throwaway server)

pytestmark = pytest.mark.skipif(not wrk_available(), reason="wrk is not installed (scripts/setup.sh --test)")


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "switch", PROJECT)
    with git_daemon(bare.parent, box.host_ip) as git_url:
        recipe = write_recipe(live_dirs / "switch.yaml", box, f"""  os_updates:
    upgrade: none
    packages: [git, ca-certificates]
  deploy_user:
    name: switch
  python: {{}}
  code:
    repo: {git_url}/switch.git
    keep_releases: 10
  database:
    engine: postgresql
    password: env:SWITCH_DB_PASSWORD
    migrate: command
    migrate_command: python migrate.py
  app_server:
    module: app:app
    workers: 3
    health_path: /health
    watch: 25
  nginx:
    server_names: [{HOST}]
""")
        yield {"work": work, "bare": bare, "recipe": recipe}


def push(lab, files: dict[str, str | None]) -> str:
    """Write (or, with None, remove) files in the work tree, commit, push; the new release's id."""
    for name, text in files.items():
        path = lab["work"] / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text)
    git("add", "-A", cwd=lab["work"])
    git("commit", "-q", "--allow-empty", "-m", f"release with {sorted(files)}", cwd=lab["work"])
    git("push", "-q", str(lab["bare"]), "main", cwd=lab["work"])
    return git("rev-parse", "HEAD", cwd=lab["work"])[:12]


def apply(live_dirs, lab) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, "apply", str(lab["recipe"]), "--yes", "--json", env={"SWITCH_DB_PASSWORD": DB_PASSWORD},
               timeout=1500)


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    summary = finished(result)
    failures = [e for e in events(result) if e["event"] == "step_failed"]
    assert result.returncode == 0 and summary["ok"], (failures, result.stdout[-4000:], result.stderr[-2000:])
    return summary


def live_release(box) -> str:
    return on_box(box, "readlink /srv/live/current").stdout.strip().removeprefix("releases/")


def stamp(box, unit: str, word: str) -> float:
    """When systemd logged `word` ("Starting", "Stopped") for the unit, last time: seconds since the epoch. From
    the journal, since a stopped and disabled unit is unloaded with its timestamps."""
    lines = on_box(box, f"journalctl -u {unit} -o short-unix --no-pager").stdout.splitlines()
    found = [line.split()[0] for line in lines if f" {word} {unit}" in line]
    assert found, (word, unit, lines[-10:])
    return float(found[-1])


def switched_under_load(box, live_dirs, lab, files: dict[str, str | None]) -> tuple[str, str, Load, float, float]:
    """Deploy a new release while wrk runs: (old id, new id, what wrk saw, the switch window's start and end)."""
    old = live_release(box)
    new = push(lab, files)
    with load(f"http://{box.ip}/", HOST, live_dirs / "wrk") as seen:
        ok(apply(live_dirs, lab))
    start = stamp(box, f"live@{new}.service", "Starting")
    end = stamp(box, f"live@{old}.service", "Stopped")
    return old, new, seen, start, end


def assert_no_request_lost(seen: Load, old: str, new: str, start: float, end: float) -> None:
    assert not seen.bad(), seen.bad()[:5]
    assert not any(seen.socket_errors.values()), seen.summary
    ids = {body for _t, _s, body in seen.responses}
    assert {old, new} <= ids, ids
    inside = seen.inside(start, end)
    print(f"switch {old} -> {new}: {len(seen.responses)} responses, {len(inside)} inside the {end - start:.1f} s "
          f"window, {len(seen.bad())} not 2xx, socket errors {seen.socket_errors}")
    assert len(inside) >= 1000, (len(inside), end - start, len(seen.responses))
    assert {body for _t, _s, body in inside} == {old, new}  # both answered during the switch


@pytest.fixture(scope="module")
def first(box, live_dirs, lab):
    result = apply(live_dirs, lab)
    ok(result)
    return result


def test_the_first_release_is_gated_served_and_a_second_apply_changes_nothing(box, live_dirs, lab, first) -> None:
    release = live_release(box)
    page = subprocess.run(["curl", "-sS", "-H", f"Host: {HOST}", f"http://{box.ip}/"], capture_output=True,
                          text=True)
    assert page.stdout.strip() == release
    assert on_box(box, f"systemctl is-active live@{release}.service").stdout.strip() == "active"
    assert on_box(box, f"systemctl is-enabled live@{release}.service").stdout.strip() == "enabled"
    why = [str(e["why"]) for e in events(first) if e["event"] == "change_started" and e["step"] == "app_server"]
    assert not any("watched" in w for w in why), why  # the first release has nothing to go back to
    again = apply(live_dirs, lab)
    assert ok(again)["changes"] == 0


def test_a_release_switches_under_load_without_a_failed_request(box, live_dirs, lab, first) -> None:
    old, new, seen, start, end = switched_under_load(box, live_dirs, lab, {"message.txt": "plain release\n"})
    assert_no_request_lost(seen, old, new, start, end)
    assert live_release(box) == new
    assert on_box(box, f"systemctl is-active live@{old}.service").stdout.strip() == "inactive"


def test_a_release_that_takes_15_s_to_boot_switches_without_a_failed_request(box, live_dirs, lab, first) -> None:
    old, new, seen, start, end = switched_under_load(box, live_dirs, lab, {"boot_seconds": "15\n"})
    assert end - start >= 15  # the old release served all the while the new one booted
    assert_no_request_lost(seen, old, new, start, end)


def test_a_release_that_migrates_switches_without_a_failed_request(box, live_dirs, lab, first) -> None:
    old, new, seen, start, end = switched_under_load(box, live_dirs, lab, {"boot_seconds": None,
                                                                           "migrate.py": migration_v2()})
    assert_no_request_lost(seen, old, new, start, end)
    rows = on_box(box, "sudo -u postgres psql -At -d live -c 'select release from migrated_v2'").stdout.split()
    assert new in rows  # the migration ran for this release, before it went live


def migration_v2() -> str:
    return (PROJECT / "migrate.py").read_text().replace("migrated (", "migrated_v2 (").replace(
        "into migrated ", "into migrated_v2 ")


def test_a_broken_release_leaves_the_old_one_serving_and_check_names_it(box, live_dirs, lab, first) -> None:
    old = live_release(box)
    broken = push(lab, {"broken": "yes\n"})
    with load(f"http://{box.ip}/", HOST, live_dirs / "wrk") as seen:
        result = apply(live_dirs, lab)
    assert result.returncode == 1
    assert "this release is broken on purpose" in result.stdout  # the release's own words, in the output
    assert live_release(box) == old
    assert not seen.bad() and not any(seen.socket_errors.values()), seen.summary
    assert {body for _t, _s, body in seen.responses} == {old}
    push(lab, {"broken": None})  # the fix: a new release, which goes live
    ok(apply(live_dirs, lab))
    assert live_release(box) not in (old, broken)


def test_a_release_that_turns_unhealthy_after_20_s_is_switched_back_inside_the_watch(box, live_dirs, lab,
                                                                                   first) -> None:
    old = live_release(box)
    sick = push(lab, {"sick_after_seconds": "20\n"})
    with load(f"http://{box.ip}/", HOST, live_dirs / "wrk") as seen:
        result = apply(live_dirs, lab)
    assert result.returncode == 1, result.stdout[-3000:]
    out = result.stdout
    assert f"switching back to release {old}" in out and f"release {old} serves again" in out, out[-3000:]
    assert live_release(box) == old
    assert on_box(box, f"systemctl is-active live@{sick}.service").stdout.strip() == "inactive"
    assert not seen.bad() and not any(seen.socket_errors.values()), seen.summary
    plan = cli(live_dirs, "plan", str(lab["recipe"]), env={"SWITCH_DB_PASSWORD": DB_PASSWORD})
    assert f"release {sick} failed at" in plan.stdout + plan.stderr  # check/plan name the failed release
    shutil.rmtree(live_dirs / "wrk", ignore_errors=True)


def test_maintenance_mode_answers_503_with_the_page_and_plan_says_so(box, live_dirs, lab, first) -> None:
    def page() -> tuple[str, str]:
        out = subprocess.run(["curl", "-sS", "-H", f"Host: {HOST}", "-w", "\n%{http_code}", f"http://{box.ip}/"],
                             capture_output=True, text=True).stdout
        body, _sep, code = out.rpartition("\n")
        return body, code

    on = cli(live_dirs, "maintenance", str(lab["recipe"]), "on", "--message", "Back at <noon> & later")
    assert on.returncode == 0 and "is on (since" in on.stdout, on.stdout + on.stderr
    body, code = page()
    assert code == "503" and "Back at &lt;noon&gt; &amp; later" in body
    plan = cli(live_dirs, "plan", str(lab["recipe"]), env={"SWITCH_DB_PASSWORD": DB_PASSWORD})
    assert "maintenance mode is on since" in plan.stdout + plan.stderr
    again = cli(live_dirs, "maintenance", str(lab["recipe"]), "on")
    assert again.returncode == 0 and again.stdout.split("since ")[1][:20] == on.stdout.split("since ")[1][:20]
    off = cli(live_dirs, "maintenance", str(lab["recipe"]), "off")
    assert off.returncode == 0 and "is off" in off.stdout
    body, code = page()
    assert code == "200" and body.strip() == live_release(box)
