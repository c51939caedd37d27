"""Issue 21 (unit): grading on meaning, nginx's routes as nginx reads them, ufw's first rule, hints, progress and
the trainer's summary. The live proof on a sandbox: tests/live/test_learn.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from recipes.firewall.facts import ufw_blocks
from recipes.nginx.facts import NginxConfig, route_of
from tests.conftest import ROOT
from wizard.app.learn import progress as store
from wizard.app.learn.course import Course
from wizard.app.learn.grade import Finding, Grade, Item, sort_changes
from wizard.app.learn.progress import DrillRecord, DrillState, Progress, StepState
from wizard.app.learn.report import markdown
from wizard.app.recipefile import load
from wizard.app.teach import Teacher
from wizard.engine.commands import cmd
from wizard.engine.facts import FactValues
from wizard.engine.meaning import Meaning
from wizard.engine.step import RunCommand

HAND_WRITTEN = """ok
# configuration file /etc/nginx/nginx.conf:
http {{ include /etc/nginx/sites-enabled/*; }}

# configuration file /etc/nginx/sites-enabled/mysite:
# written by hand, the tutorial's way
upstream app_server {{
    server {socket}   fail_timeout=0;  # gunicorn
}}
server {{
        listen 80 ;
        server_name   demo.example.test  www.demo.example.test;
        location /static/ {{ alias /srv/demo/current/static/; }}
        location / {{    proxy_pass   http://app_server;   proxy_set_header Host "$host"; }}
}}
"""


def test_nginx_route_is_read_as_nginx_reads_it_whatever_the_comments_whitespace_and_upstream_names() -> None:
    state = NginxConfig().parse(HAND_WRITTEN.format(socket="unix:/run/demo/gunicorn.sock"), 0)
    assert state.valid
    assert route_of(state.config, "demo.example.test") == "unix:/run/demo/gunicorn.sock"
    assert route_of(state.config, "demo.example.test", "/static/x.css") is None  # served from disk
    assert route_of(state.config, "other.example.test") is None


def test_a_wrong_socket_is_seen_even_when_nginx_accepts_the_file() -> None:
    state = NginxConfig().parse(HAND_WRITTEN.format(socket="unix:/run/demo/wrong.sock"), 0)
    assert route_of(state.config, "demo.example.test") == "unix:/run/demo/wrong.sock"
    direct = NginxConfig().parse("ok\n# configuration file /x:\nserver { server_name a; location / { "
                                 "proxy_pass http://unix:/run/a.sock:/; } }\n", 0)
    assert route_of(direct.config, "a") == "unix:/run/a.sock"


def test_a_configuration_nginx_refuses_says_what_nginx_said() -> None:
    state = NginxConfig().parse('bad\nnginx: [emerg] unknown directive "server_nmae" in /etc/nginx/sites-enabled/'
                                'demo:4\n', 1)
    assert not state.valid and "server_nmae" in state.error


@pytest.mark.parametrize(("status", "reason"), [
    ("Status: active\n\nTo   Action   From\n--   ------   ----\n22/tcp   ALLOW   Anywhere\n80/tcp   ALLOW   Anywhere\n"
     "443/tcp   ALLOW   Anywhere\n443/tcp (v6)   ALLOW   Anywhere (v6)", None),
    ("Status: inactive", "ufw is not active (`ufw status` says: Status: inactive)"),
    ("Status: active\n22/tcp   ALLOW   Anywhere\n80/tcp   ALLOW   Anywhere",
     "no ufw rule lets port 443 in: the default policy drops it"),
    ("Status: active\n443/tcp   DENY   Anywhere\n22/tcp   ALLOW   Anywhere\n80/tcp   ALLOW   Anywhere\n"
     "443/tcp   ALLOW   Anywhere", "the first ufw rule for port 443 is DENY: connections to it are refused"),
])
def test_ufw_the_first_rule_for_a_port_decides(status: str, reason: str | None) -> None:
    assert ufw_blocks(status, ["22", "80", "443"]) == reason


def _recipe():
    return load(ROOT / "examples" / "flask-app.yaml")


def test_a_change_is_a_difference_of_taste_only_when_a_holding_meaning_covers_it_and_no_failing_one() -> None:
    shell = RunCommand("change the login shell of demo", cmd("usermod", "--shell", "/usr/sbin/nologin", "demo"))
    keys = RunCommand("create /home/demo/.ssh (mode 700)", cmd("install", "-d", "/home/demo/.ssh"))
    holds = Meaning("the account exists", (), lambda facts: None,
                    covers=lambda change: "/.ssh" not in change.why)
    fails = Meaning("the site routes", (), lambda facts: "wrong socket", covers=lambda change: "socket" in change.why)
    socket = RunCommand("write the site (socket)", cmd("true"))
    teacher = Teacher.for_recipe(_recipe())
    found = [(holds, holds.judge(FactValues())), (fails, fails.judge(FactValues()))]
    missing, differs = sort_changes([shell, keys, socket], found, teacher)
    assert [item.why for item in differs] == ["change the login shell of demo"]
    assert [(item.why, item.reason) for item in missing] == [("create /home/demo/.ssh (mode 700)", ""),
                                                             ("write the site (socket)", "wrong socket")]
    assert missing[0].commands == ("$ sudo install -d /home/demo/.ssh",)  # kept for hint 3, not said by default


def test_a_grade_passes_only_with_every_meaning_holding_nothing_missing_and_every_check_passing() -> None:
    assert Grade("x", [Finding("a", None)], differs=[Item("shell")]).passed
    assert not Grade("x", [Finding("a", "no")]).passed
    assert not Grade("x", missing=[Item("gunicorn")]).passed
    assert Grade("x", missing=[Item("install gunicorn")]).reasons() == ["still missing: install gunicorn"]


def test_hints_go_from_looking_to_what_is_missing_to_the_exact_commands() -> None:
    course = Course(_recipe())
    assert course.names[:3] == ["os_updates", "deploy_user", "python"]
    view = course.view("nginx")
    assert view.section == "4.1 Web server configuration" and "demo.example.test" not in view.goal
    one = course.hint("python", 1, None)
    assert "/srv/demo/venv/bin/python --version" in "\n".join(one)
    grade = Grade("python", [Finding("gunicorn is installed in the venv", "gunicorn is not installed")],
                  missing=[Item("install gunicorn into the venv", commands=("$ sudo -u demo pip install gunicorn",))])
    two = "\n".join(course.hint("python", 2, grade))
    assert "install gunicorn into the venv" in two and "pip install" not in two
    three = "\n".join(course.hint("python", 3, grade))
    assert "$ sudo -u demo pip install gunicorn" in three


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path


def test_progress_is_saved_privately_and_read_back(state_home: Path) -> None:
    progress = Progress("alice", "/x/course.yaml", "10.99.1.2", sandbox="learn", current="python")
    progress.step("deploy_user").state = StepState.BY_HAND
    progress.drills["static-403"] = DrillRecord(DrillState.FIXED, broken=1.0, fixed=61.0)
    path = store.save(progress)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    again = store.load("alice")
    assert again is not None and again.steps["deploy_user"].state is StepState.BY_HAND
    assert again.drills["static-403"].state is DrillState.FIXED and again.current == "python"
    assert not list(path.parent.glob(".*.tmp"))  # atomic: nothing half-written left beside it


def test_a_damaged_progress_file_is_said_not_a_traceback(state_home: Path) -> None:
    store.path_of("bob").write_text("{not json")
    with pytest.raises(store.LearnError, match="not a progress file"):
        store.load("bob")
    with pytest.raises(store.LearnError, match="not a learner name"):
        store.learner_name("../etc")


def test_the_summary_counts_steps_by_hand_hints_and_drills() -> None:
    progress = Progress("alice", "/x.yaml", "10.99.1.2", started=0.0)
    progress.steps["deploy_user"] = StepRecordFor(StepState.BY_HAND, hints=1, checks=2, started=0.0, finished=120.0)
    progress.steps["python"] = StepRecordFor(StepState.WITH_TOOL, hints=3, checks=1, started=120.0, finished=300.0)
    progress.drills["nginx-stopped"] = DrillRecord(DrillState.FIXED, broken=300.0, fixed=420.0, checks=2)
    progress.updated = 600.0
    text = markdown(progress, {"deploy_user": "Deploy user", "python": "Python", "nginx": "nginx"},
                    {"nginx-stopped": "nginx stopped"})
    assert "- Steps done by hand: 1 of 3" in text and "- Hints used: 4" in text
    assert "- Drills fixed: 1 of 1" in text and "- Time taken: 10 minutes" in text
    assert "| Deploy user | by hand | 1 | 2 | 2 minutes |" in text
    assert "| nginx | not done yet | 0 | 0 | |" in text
    assert "| nginx stopped | fixed | 2 | 2 minutes |" in text


def StepRecordFor(state: StepState, **values: float) -> store.StepRecord:  # noqa: N802 - reads like the class
    return store.StepRecord(state, **values)  # type: ignore[arg-type]


def learn_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "DEPLOY_WIZARD_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "wizard", "learn", "--learner", "carol", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=60)


def test_cli_says_how_to_start_and_refuses_a_host_nobody_confirmed(tmp_path: Path) -> None:
    none = learn_cli(tmp_path, "check")
    assert none.returncode == 2 and "start one with `deploy-wizard learn`" in none.stderr
    unconfirmed = learn_cli(tmp_path, "--host", "web1.example.test", "--recipe", str(ROOT / "examples/flask-app.yaml"))
    assert unconfirmed.returncode == 2 and "PRACTICE ON web1.example.test" in unconfirmed.stderr
    assert "type the host name exactly" in unconfirmed.stderr and "Traceback" not in unconfirmed.stderr
    wrong = learn_cli(tmp_path, "--host", "web1.example.test", "--recipe", str(ROOT / "examples/flask-app.yaml"),
                      "--confirm-host", "web2.example.test")
    assert wrong.returncode == 2 and not (tmp_path / "deploy-wizard/learn/carol.json").exists()
    confirmed = learn_cli(tmp_path, "--host", "web1.example.test", "--recipe", str(ROOT / "examples/flask-app.yaml"),
                          "--confirm-host", "web1.example.test")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Step 1 of 11: OS updates" in confirmed.stdout
    saved = json.loads((tmp_path / "deploy-wizard/learn/carol.json").read_text())
    assert saved["host"] == "web1.example.test" and saved["sandbox"] is None
    shown = learn_cli(tmp_path, "goto", "nginx")
    assert "Step 8 of 11" in shown.stdout and "4.1 Web server configuration" in shown.stdout
    zh = learn_cli(tmp_path, "show", "--lang", "zh_CN")
    assert zh.returncode == 0 and "第 8 步" in zh.stdout, zh.stdout


def test_behind_tls_the_https_block_decides_not_the_redirect() -> None:
    dump = ("ok\n# configuration file /etc/nginx/sites-enabled/demo:\n"
            "upstream demo_app { server unix:/run/demo/gunicorn.sock fail_timeout=0; }\n"
            "server { listen 80; server_name demo.example.test; location /.well-known/acme-challenge/ { root /x; }\n"
            "  location / { return 301 https://demo.example.test$request_uri; } }\n"
            "server { listen 443 ssl; server_name demo.example.test; location / { if (-f /m/on) { return 503; }\n"
            "  proxy_pass http://demo_app; } }\n")
    assert route_of(NginxConfig().parse(dump, 0).config, "demo.example.test") == "unix:/run/demo/gunicorn.sock"


def _judged(step_name: str, settings: dict, facts: dict) -> list[tuple[str, str | None]]:
    """A step's meanings (with the flask example's context) judged against facts given by key."""
    from wizard.app import registry

    step = registry.by_name()[step_name]
    recipe = _recipe()
    ctx = recipe.context()
    meanings = step.meanings(step.Settings(**settings), ctx)
    values = FactValues({fact.key: facts[fact.key] for m in meanings for fact in m.facts})
    return [(m.what, m.judge(values)) for m in meanings]


def test_an_account_made_with_adduser_is_the_account_and_uid_0_is_not() -> None:
    from recipes.deploy_user.facts import UserState

    adduser = UserState("demo", 1001, 1001, "/home/demo", "/bin/bash", ("demo", "users"))
    assert _judged("deploy_user", {"name": "demo"}, {"user:demo": adduser}) == [
        ("the account demo exists and is not root", None)]
    root = UserState("demo", 0, 0, "/root", "/bin/bash", ("root",))
    assert _judged("deploy_user", {"name": "demo"}, {"user:demo": root})[0][1] == (
        "demo has uid 0: it is root under another name")


def test_a_venv_made_by_root_is_said_so() -> None:
    found = dict(_judged("python", {}, {"venv-python:/srv/demo/venv": "3.13",
                                        "path:/srv/demo/venv": {"type": "directory", "mode": "755", "owner": "root",
                                                                "group": "root"},
                                        "venv-packages:/srv/demo/venv": {"pip": "25.1"}}))
    assert found["a venv /srv/demo/venv with Python 3, owned by demo"] == (
        "/srv/demo/venv belongs to root, not demo: installing into it would need root")
    assert found["gunicorn is installed in the venv"] == "gunicorn is not installed in /srv/demo/venv"


def test_os_updates_by_hand_each_meaning_answers_for_its_own_part() -> None:
    from recipes.shared.meanings import Answer

    facts = {"upgradable:upgrade": ["libc6", "openssl"],
             "packages:ca-certificates,curl,git,unattended-upgrades": {"ca-certificates": "1", "curl": "8",
                                                                        "git": "2", "unattended-upgrades": None},
             "probe:apt-config dump APT::Periodic::Unattended-Upgrade | grep -q '\"1\"':": Answer(0, ""),
             "timezone": {"localtime": "Asia/Shanghai", "timezone_file": None},
             "hostname": {"file": "demo.example.test", "running": "demo.example.test"}}
    found = dict(_judged("os_updates", {"upgrade": "upgrade", "unattended_upgrades": True, "timezone": "Asia/Shanghai",
                                        "hostname": "demo.example.test"}, facts))
    assert found["no package updates are waiting"] == "2 packages have updates waiting: `apt list --upgradable`"
    assert found["the time zone is Asia/Shanghai"] is None and found["the host name is demo.example.test"] is None
    assert found["automatic security updates are on"] is None
    assert found["installed: curl, git, ca-certificates, unattended-upgrades"] == "not installed: unattended-upgrades"


def test_the_disk_full_drill_fills_the_app_log_directory_and_runs_on_the_practice_sandbox_only() -> None:
    """On a server of the learner's own the drill would fill its real disk: refused, naming the host."""
    from wizard.app.learn.drills import drill
    from wizard.cli.learn_actions import _give_disk
    from wizard.engine.errors import UsageError
    from wizard.engine.step import Context

    found = drill("disk-full")
    assert found is not None and found.step == "monitoring" and found.disk is not None
    assert found.disk(Context(app="demo")) == "/var/log/demo"
    breaks = found.breaks(Context(app="demo"), {})
    assert breaks.bits[-1] == "/var/log/demo" and '"$1/debug.log"' in breaks.shell()
    with pytest.raises(UsageError, match="only on the practice sandbox.*on 203.0.113.5 it would fill the real one"):
        _give_disk(Progress("alice", "/x.yaml", "203.0.113.5"), "disk-full", "/var/log/demo")
