"""Issue 14, live: `plan` on a fresh server plans every step, writes nothing, and apply then runs exactly the
planned changes, apart from the ones the plan marked as decided at run time."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.live.conftest import cli, events, finished, on_box
from tests.live.services import flask_recipe_text, lab

ENV = {"DEMO_DB_PASSWORD": "fresh-plan-secret"}
STEPS = 11


@pytest.fixture(scope="module")
def recipe(box, live_dirs):
    with lab(box, live_dirs) as served:
        path = live_dirs / "flask-app.yaml"
        path.write_text(flask_recipe_text(served.git_url, served.acme, box.ip))
        yield path


# The server's own records of our logins: the journal, and the flag Debian's sudo leaves on a sudoer's first use
# (with the two directories it is copied up into).
RECORDS = ("var/log/journal", "home/admin/.sudo_as_admin_successful", "home/admin", "home")


def written(upper: Path) -> dict[str, tuple[int, int, int]]:
    """Every path the server wrote since it booted (size, mtime, mode), its records of our logins aside."""
    found = {}
    for root, dirs, files in os.walk(upper):
        for name in dirs + files:
            path = Path(root, name)
            relative = str(path.relative_to(upper))
            if relative in RECORDS or relative.startswith(RECORDS[0]):
                continue
            info = path.lstat()
            found[relative] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return found


def per_step(result, event: str, key: str) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for e in events(result):
        if e["event"] == event == "step_planned":
            found[e["step"]] = Counter(str(c[key]) for c in e["changes"])
        elif e["event"] == event == "change_started" and not e.get("check"):
            found.setdefault(str(e["step"]), Counter())[str(e[key])] += 1
    return found


def test_plan_on_a_fresh_server_plans_everything_writes_nothing_and_apply_runs_it(box, live_dirs, recipe) -> None:
    before = written(box.upper_dir)
    plan = cli(live_dirs, "plan", str(recipe), "--json", env=ENV)
    summary = finished(plan)
    assert plan.returncode == 0 and summary["ok"], plan.stdout[-3000:] + plan.stderr[-2000:]
    planned = per_step(plan, "step_planned", "do")
    assert len(planned) == STEPS
    later = {e["step"]: [c["why"] for c in e["later"]] for e in events(plan) if e["event"] == "step_planned"
             and e["later"]}
    # run-time-only is a short, fixed list: the requirements (read from the checkout) and the Django checks (run
    # the app's code, so only once it is there). The package updates are planned: `apt-get -y upgrade` right
    # after the refresh of the stale lists
    assert later == {"code": ["install the requirements"],
                     "app_server": ["read the release's Django settings and run manage.py check --deploy before it "
                                    "goes live"]}
    assert summary["later"] == 2
    assert any(shown.startswith("apt-get -y upgrade") for shown in planned["os_updates"]), planned["os_updates"]
    after = written(box.upper_dir)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert changed == [], changed  # read-only: the server is as it was

    # the plain output: a per-step table of planned against decided-at-run-time changes
    shown = cli(live_dirs, "plan", str(recipe), env=ENV)
    assert "decided at run time" in shown.stdout and "install the requirements" in shown.stdout
    table = [line.split() for line in shown.stdout.splitlines() if line.split()[:1] == ["code"]]
    assert table and table[-1][2] == "1", shown.stdout[-2000:]

    apply = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV, timeout=1500)
    assert apply.returncode == 0 and finished(apply)["ok"], apply.stdout[-3000:]
    ran = per_step(apply, "change_started", "description")
    for step, wanted in planned.items():
        done = ran.get(step, Counter())
        assert wanted - done == Counter(), f"{step}: planned but not run: {wanted - done}; ran: {done}"
        extra = done - wanted
        # beyond the plan, only what it marked as decided at run time: one pip install
        if step == "code":
            assert list(extra) and all("/bin/pip install -r " in d for d in extra) and sum(extra.values()) == 1
        else:
            assert extra == Counter(), f"{step}: run but not planned: {extra}"
    assert finished(apply)["changes"] == sum(sum(c.values()) for c in ran.values())
    # the installs queued behind python3's had their packages downloaded while the one before them ran, so
    # PostgreSQL's own install fetched nothing (apt: "Need to get 0 B/... of archives")
    ahead = {e["step"] for e in events(apply) if e["event"] == "notice" and "downloaded in advance" in e["text"]}
    assert {"database", "nginx", "tls", "firewall", "monitoring"} <= ahead, ahead
    need = [e["text"] for e in events(apply) if e["event"] == "output" and e["step"] == "database"
            and e["text"].startswith("Need to get ")]
    assert need and need[0].startswith("Need to get 0 B/"), need


def test_a_reapply_reads_every_step_in_a_few_round_trips_and_check_asks_the_services(box, live_dirs, recipe) -> None:
    """Runs after the apply above: the re-apply changes nothing and reads the whole recipe's facts in a few round
    trips (the connection probe, the deploy lock, the gathers: one, and one more per fact that depends on another),
    without a health check; `check` finds no drift and runs the steps' health checks, which pass. The first apply
    ended by recording os_updates' simulation again after the later steps' installs (Step.refresh), so the
    re-apply reads that record instead of simulating."""
    from recipes.os_updates.facts import SKIPPED, Upgradable

    assert on_box(box, Upgradable().command().shell()).stdout.strip() == SKIPPED  # read only: plan's way
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
    summary = finished(again)
    assert again.returncode == 0 and summary["changes"] == 0, again.stdout[-3000:]
    # many commands per round trip (the files of all steps are one command, their packages another)
    assert summary["round_trips"] <= 6 and summary["commands"] > 5 * summary["round_trips"], summary
    assert not [e for e in events(again) if e["event"] == "change_started"]  # no change, no health check either
    check = cli(live_dirs, "check", str(recipe), "--json", env=ENV)
    assert check.returncode == 0 and finished(check)["changes"] == 0, check.stdout[-3000:]
    checked = {e["step"] for e in events(check) if e["event"] == "change_started" and e.get("check")}
    assert {"app_server", "monitoring"} <= checked, checked
    shown = cli(live_dirs, "apply", str(recipe), "--yes", env=ENV)
    assert re.search(r"OK: 0 changes \(-\), [\d.]+ s, \d+ remote commands in [2-6] round trips", shown.stdout), \
        shown.stdout[-1500:]


def test_drift_in_a_site_a_firewall_rule_and_a_package_is_seen_and_fixed(box, live_dirs, recipe) -> None:
    """Runs after the no-op re-apply above: with the facts read in lanes and the files by one script, what was
    changed by hand is still seen. A line added to the nginx site, the HTTPS rule taken out of ufw and
    python3-dev removed (nothing a health check needs): `check` reports the drift, the plan puts each back, apply
    does, and the next apply is a no-op."""
    changed = on_box(box, "echo '# by hand' >> /etc/nginx/sites-available/demo && ufw delete allow 443/tcp && "
                          "dpkg -r python3-dev")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    check = cli(live_dirs, "check", str(recipe), "--json", env=ENV)
    assert check.returncode == 3, check.stdout[-3000:] + check.stderr[-2000:]
    assert {"nginx", "firewall"} <= set(finished(check)["changed_steps"]), finished(check)
    planned = " ".join(str(change) for e in events(check) if e["event"] == "step_planned" for change in e["changes"])
    # the package goes back with the python step's own install or, ahead of it, with os_updates'
    assert "python3-dev" in planned and "/etc/nginx/sites-available/demo" in planned and "443" in planned, planned
    fixed = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
    assert fixed.returncode == 0 and finished(fixed)["changes"] >= 3, fixed.stdout[-3000:]
    assert "# by hand" not in on_box(box, "cat /etc/nginx/sites-available/demo").stdout
    assert "443/tcp" in on_box(box, "ufw status").stdout
    assert on_box(box, "dpkg-query -W -f '${db:Status-Abbrev}' python3-dev").stdout.startswith("ii")
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


def test_a_changed_env_value_is_planned_with_the_restart_apply_makes(box, live_dirs, recipe) -> None:
    """A value of app_server.env changes: the code step writes app.env, and the app server restarts because the
    file is newer than its start. The plan says both, as apply then does them, and the page shows the new value."""
    page = "curl -sk --resolve demo.example.test:443:127.0.0.1 https://demo.example.test/"
    for greeting, extra in (("Hello again", ["--set", "app_server.env=GREETING=Hello again"]),
                            ("Hello from deploy-wizard", [])):
        plan = cli(live_dirs, "plan", str(recipe), "--json", *extra, env=ENV)
        planned = {step: wanted for step, wanted in per_step(plan, "step_planned", "do").items() if wanted}
        apply = cli(live_dirs, "apply", str(recipe), "--yes", "--json", *extra, env=ENV)
        assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr[-2000:]
        ran = per_step(apply, "change_started", "description")
        assert planned == ran, (planned, ran)
        assert any(done.startswith("systemctl restart demo@") for done in ran["app_server"]), ran
        assert greeting in on_box(box, page).stdout


def test_many_files_and_paths_read_by_one_script_read_as_each_one_alone(box, live_dirs, recipe) -> None:
    """A gather reads every file in one script and every path in one stat loop (wizard/engine/facts.py:
    FilesInfo, PathsInfo): on the server, each reads as when it is asked alone (a root-only env file, a symlink, a
    directory, an absent path included)."""
    from wizard.engine.facts import FileInfo, FilesInfo, PathInfo, PathsInfo

    files = ("/etc/nginx/sites-available/demo", "/srv/demo/shared/env/app.env", "/etc/nginx/sites-enabled/demo",
             "/srv/demo/shared", "/etc/no-such-file")
    together = FilesInfo(files).parse(on_box(box, FilesInfo(files).command().shell()).stdout, 0)
    paths = PathsInfo(files).parse(on_box(box, PathsInfo(files).command().shell()).stdout, 0)
    for path in files:
        alone = on_box(box, FileInfo(path).command().shell()).stdout
        assert together[path] == FileInfo(path).parse(alone.rstrip("\n"), 0), path
        assert paths[path] == PathInfo(path).parse(on_box(box, PathInfo(path).command().shell()).stdout, 0), path
    assert together["/srv/demo/shared/env/app.env"] is not None and together["/srv/demo/shared"] is None
    assert paths["/srv/demo/shared"]["type"] == "directory" and paths["/etc/no-such-file"] is None


def test_many_units_in_one_systemctl_show_read_as_each_one_alone(box, live_dirs, recipe) -> None:
    """A gather asks every step's units in one `systemctl show` (recipes/shared/facts.UnitsProperties): each unit
    reads as when it is asked alone, a unit that does not exist included."""
    from recipes.shared.facts import UnitProperties, UnitsProperties

    units = ("nginx.service", "demo.socket", "certbot.timer", "no-such-unit.service", "postgresql.service")
    together = UnitsProperties(units)
    found = together.parse(on_box(box, together.command().shell()).stdout, 0)
    for unit in units:
        alone = UnitProperties(unit)
        assert found[unit] == alone.parse(on_box(box, alone.command().shell()).stdout, 0), unit
    assert found["nginx.service"]["ActiveState"] == "active" and found["no-such-unit.service"]["LoadState"] == \
        "not-found"


def test_a_reapply_skips_the_upgrade_simulation_only_while_nothing_apt_reads_changed(box, live_dirs, recipe) -> None:
    """recipes/os_updates/facts.py: the re-applies above left the record of a simulation that found nothing, so
    the fact answers without apt; package lists with a newer curl in them are seen at once, and once they are back
    the apply's next simulation records them again."""
    from recipes.os_updates.facts import SKIPPED, Upgradable

    fact = Upgradable(record=True)  # as an apply asks it

    def ask() -> str:
        return on_box(box, fact.command().shell()).stdout

    assert ask().strip() == SKIPPED
    lists = "/var/lib/apt/lists"
    changed = on_box(box, f"mkdir -p /root/lists-saved && cp -a {lists}/*_Packages /root/lists-saved/ && "
                          f"sed -i '/^Package: curl$/,/^Version:/ s/^Version: .*/Version: 99:1.0-1/' {lists}/*_Packages"
                          f" && grep -c '^Version: 99:1.0-1$' {lists}/*_Packages | grep -v ':0$'")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "curl" in fact.parse(ask(), 0)  # the lists changed: simulated, and the newer curl is there
    assert on_box(box, f"cp -a /root/lists-saved/. {lists}/ && rm -r /root/lists-saved").returncode == 0
    first = ask()
    assert first.strip() != SKIPPED and fact.parse(first, 0) == []  # simulated again (the ctime moved), nothing
    assert ask().strip() == SKIPPED


def test_the_plan_reads_the_upgrades_as_apt_lists_them(box, live_dirs, recipe) -> None:
    """recipes/os_updates/facts.py simulates the upgrade as nobody, so apt reads its binary cache instead of parsing
    every package list again, and cannot write it: with an upgrade pending it lists what the root simulation without
    any cache lists, and the cache is left as it was, although the last simulation's empty answer was recorded
    (a package changed by hand: dpkg's status changed). Last in the module: it makes dpkg believe git is older."""
    from recipes.os_updates.facts import SKIPPED, Upgradable

    assert on_box(box, Upgradable().command().shell()).stdout.strip() == SKIPPED  # a record stands, and still:
    on_box(box, r"sed -i '/^Package: git$/,/^Version:/ s/^Version: .*/Version: 1:0.1-1/' /var/lib/dpkg/status")
    cache = "stat -c %Y.%s /var/cache/apt/pkgcache.bin"
    before = on_box(box, cache).stdout
    root = on_box(box, "apt-get -s -o Debug::NoLocking=1 -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "
                       "upgrade 2>/dev/null | awk '/^Inst /{print $2}'").stdout.split()
    fact = Upgradable()
    ours = fact.parse(on_box(box, fact.command().shell()).stdout, 0)
    assert "git" in root and ours == root
    assert on_box(box, cache).stdout == before
