"""Issue 21 follow-up (unit): the meanings added for the code step's install and app.env, jobs, monitoring's
logrotate, health timer and Prometheus, goals and environment: fact outputs in, grade out, as in
tests/test_learn_meanings.py (whose helpers these use). The live proof: tests/live/test_learn.py."""

from __future__ import annotations

from collections.abc import Callable

from recipes.shared.meanings import Answer, Probe
from tests.test_learn_meanings import CODE, COMMIT, ENV, _code, _env_file, _grade, _monitoring_server
from wizard.engine.facts import Fact


def test_the_dependencies_installed_by_hand_count_and_a_missing_one_is_named() -> None:
    """pip install -r by hand (no marker of the tool's): the install is a difference; a package the venv lacks,
    or one outside the file's range, fails naming it, and the install is then missing."""
    here = f"current by-hand {COMMIT}\n"
    answer, plan_facts = _code(here)
    grade = _grade("code", {**CODE, "install": "requirements", "requirements": "requirements.txt"}, answer,
                   plan_facts)
    assert grade.passed, grade.reasons()
    assert any(item.why.startswith("install the requirements") for item in grade.differs)
    answer, plan_facts = _code(here, deps=Answer(1, "gunicorn\nflask>=3 (the venv has 2.3.3)"))
    lacking = _grade("code", {**CODE, "install": "requirements", "requirements": "requirements.txt"}, answer,
                     plan_facts)
    assert ("the venv /srv/demo/venv lacks what the release needs: gunicorn, flask>=3 (the venv has 2.3.3)"
            in lacking.reasons())
    assert any(item.why.startswith("install the requirements") for item in lacking.missing)


def test_an_env_file_without_a_variable_or_with_another_value_fails_naming_it() -> None:
    here = f"current by-hand {COMMIT}\n"
    answer, plan_facts = _code(here, env=_env_file({**ENV, "GREETING": "hi"}))
    grade = _grade("code", CODE, answer, plan_facts)
    assert ("/srv/demo/shared/env/app.env sets GREETING to another value than the recipe's" in grade.reasons())
    assert "Hello from deploy-wizard" not in "\n".join(grade.reasons())
    assert any(item.why.startswith("write the app's environment") for item in grade.missing)
    answer, plan_facts = _code(here, env=_env_file({"GREETING": ENV["GREETING"]}))
    assert ("/srv/demo/shared/env/app.env does not set STATIC_ROOT, MEDIA_ROOT"
            in _grade("code", CODE, answer, plan_facts).reasons())
    answer, plan_facts = _code(here, env=Answer(4, ""))
    assert "demo cannot read /srv/demo/shared/env/app.env" in _grade("code", CODE, answer, plan_facts).reasons()


# --- jobs: a timer and a service written by hand, of other names, calling the venv's python by its path

JOBS = {"commands": {"heartbeat": "python heartbeat.py"}, "schedules": {"heartbeat": "*:0/5"}}


def _jobs_server(fact: Fact) -> object:
    """The plan's facts where no unit of the tool's names exists: the learner's have other names."""
    if fact.kind in ("calendar", "managed-timers", "timer"):
        return fact.fresh()
    return None


def _jobs(answer: Answer) -> Callable[[Fact], object]:
    def reply(fact: Fact) -> object:
        assert isinstance(fact, Probe) and fact.args == ("demo", "python heartbeat.py")
        return answer

    return reply


def test_a_job_scheduled_by_a_timer_of_ones_own_passes_with_differences_only() -> None:
    grade = _grade("jobs", JOBS, _jobs(Answer(0, "my-heartbeat.timer")), _jobs_server)
    assert [(f.what, f.reason) for f in grade.findings] == [
        ("job heartbeat: a started, enabled timer runs python heartbeat.py as demo", None)]
    assert grade.passed and not grade.missing, grade.reasons()
    assert "start the timer demo-job-heartbeat.timer (*:0/5)" in [item.why for item in grade.differs]


def test_a_job_as_root_not_enabled_or_not_scheduled_fails_with_the_reason() -> None:
    root = _grade("jobs", JOBS, _jobs(Answer(2, "my-heartbeat.timer root")), _jobs_server)
    assert "my-heartbeat.timer runs python heartbeat.py as root, not as demo" in root.reasons()
    assert any(item.why.startswith("start the timer") for item in root.missing)
    off = _grade("jobs", JOBS, _jobs(Answer(3, "my-heartbeat.timer")), _jobs_server)
    assert ("my-heartbeat.timer is started but not enabled: it would not run after a reboot (`systemctl enable "
            "my-heartbeat.timer`)") in off.reasons()
    none = _grade("jobs", JOBS, _jobs(Answer(1, "")), _jobs_server)
    assert "no started timer runs python heartbeat.py (`systemctl list-timers` lists them)" in none.reasons()
    assert not none.passed


def test_the_job_probe_finds_the_command_in_the_units_exec_line() -> None:
    """The probe's match against what `systemctl show -P ExecStart` prints, by a shell here."""
    import subprocess

    from recipes.jobs.meanings import JOB

    case = JOB.split("\n")[3].strip()  # the `case` line
    script = f's=x; systemctl() {{ echo "$X"; }}; {case.replace("continue", "exit 1")}; exit 0'
    for exec_start, found in (
            ("{ path=/usr/bin/env ; argv[]=/usr/bin/env python heartbeat.py ; ignore_errors=no }", True),
            ("{ path=/srv/demo/venv/bin/python ; argv[]=/srv/demo/venv/bin/python heartbeat.py ; x }", True),
            ("{ path=/usr/bin/env ; argv[]=/usr/bin/env python heartbeat.py --once ; x }", False)):
        done = subprocess.run(["sh", "-c", script, "sh", "demo", "python heartbeat.py"], env={"X": exec_start})
        assert (done.returncode == 0) is found, exec_start


# --- monitoring with logrotate, the health timer and Prometheus, each done by hand

FULL_MONITORING = {"journald_max_use": "200M", "logrotate": True, "health_check": True, "prometheus": True}


def _full_monitoring(rotated: Answer = Answer(0, ""), health: Answer = Answer(0, "site-check.timer"),
                     scraped: Answer = Answer(0, "")) -> Callable[[Fact], object]:
    def answer(fact: Fact) -> object:
        assert isinstance(fact, Probe)
        if "logrotate -d" in fact.script:
            assert fact.args == ("/var/log/demo",)
            return rotated
        if "list-units --type=timer" in fact.script:
            assert fact.args == ("https://demo.example.test/",)
            return health
        if "api/v1/targets" in fact.script:
            assert fact.args == ("127.0.0.1:9090", "node")
            return scraped
        return Answer(0, "500M")  # the exporter's metrics and the journal: as in the tests above

    return answer


def test_monitoring_with_its_logs_health_and_prometheus_by_hand_passes_with_differences_only() -> None:
    grade = _grade("monitoring", FULL_MONITORING, _full_monitoring(), _monitoring_server)
    assert [f.what for f in grade.findings][2:] == [
        "no disk is more than 90 % full", "logrotate rotates the app's logs in /var/log/demo", "a timer checks https://demo.example.test/",
        "Prometheus at 127.0.0.1:9090 scrapes node, each one up"]
    assert grade.passed and not grade.missing, grade.reasons()
    assert {"rotate /var/log/demo/*.log daily, keep 14", "health check of https://demo.example.test/ every 5min",
            "start the health check timer", "Prometheus scrapes the exporters"} <= {i.why for i in grade.differs}


def test_unrotated_logs_an_unchecked_site_or_an_unscraped_exporter_fail_with_the_reason() -> None:
    grade = _grade("monitoring", FULL_MONITORING, _full_monitoring(
        rotated=Answer(1, "/var/log/demo/access.log"), health=Answer(1, ""),
        scraped=Answer(0, "node down: Get \"http://127.0.0.1:9100/metrics\": connection refused")), _monitoring_server)
    assert grade.reasons()[:3] == [
        "no logrotate rule takes /var/log/demo/access.log: `logrotate -d /etc/logrotate.conf` does not consider it, "
        "and the app's logs grow until the disk is full",
        "no started timer asks https://demo.example.test/: an outage would go unnoticed",
        "Prometheus does not scrape every exporter: node down: Get \"http://127.0.0.1:9100/metrics\": connection "
        "refused"]
    assert {"rotate /var/log/demo/*.log daily, keep 14", "health check of https://demo.example.test/ every 5min",
            "start the health check timer", "Prometheus scrapes the exporters"} <= {i.why for i in grade.missing}
    silent = _grade("monitoring", FULL_MONITORING, _full_monitoring(scraped=Answer(1, "curl: (7) Failed to connect")),
                    _monitoring_server)
    assert "Prometheus does not answer at 127.0.0.1:9090 (curl: (7) Failed to connect)" in silent.reasons()


# --- goals: swap made by hand (/swap.img, not /swapfile)

GOALS = {"audience": "public", "peak_users": 50}


def _goals(swap_mib: int, kept: Answer = Answer(0, ""), container: bool = False) -> Callable[[Fact], object]:
    def facts(fact: Fact) -> object:
        if fact.kind == "server-size":
            return {"cpus": 1, "mem_mib": 1024, "disk_mib": 20000, "swap_mib": swap_mib,
                    "virt": "lxc" if container else "kvm"}
        if isinstance(fact, Probe):
            return kept
        return fact.fresh()

    return facts


def test_swap_made_by_hand_passes_and_swap_lost_at_reboot_or_too_small_fails() -> None:
    wanted = _grade("goals", GOALS, _goals(0), _goals(0))
    assert [i.why for i in wanted.missing] == [
        "add 1024 MiB of swap in /swapfile, so a memory spike slows the app instead of ending it",
        "record what demo needs from the server-wide goals settings"], wanted.reasons()
    assert "the server has 0 MiB of swap; the goals ask for 1024 MiB" in wanted.reasons()
    by_hand = _grade("goals", GOALS, _goals(1024), _goals(0))  # /swapfile not there, but 1 GiB of /swap.img is
    assert by_hand.passed and not by_hand.missing and [i.why for i in by_hand.differs] == [
        "add 1024 MiB of swap in /swapfile, so a memory spike slows the app instead of ending it",
        "record what demo needs from the server-wide goals settings"], by_hand.reasons()
    lost = _grade("goals", GOALS, _goals(1024, Answer(1, "/swap.img")), _goals(0))
    assert "/swap.img is in use as swap but not in /etc/fstab: it is gone after a reboot" in lost.reasons()
    inside = _grade("goals", GOALS, _goals(0, container=True), _goals(0, container=True))
    assert inside.passed, inside.reasons()


# --- environment (local): the internal CA trusted under a name of one's own

def test_an_internal_ca_trusted_by_hand_passes_and_an_untrusted_one_fails(tmp_path) -> None:  # noqa: ANN001
    from tests.test_environment import certificate

    settings = {"kind": "local", "internal_ca": certificate(tmp_path / "ca.pem", ca=True)}

    def server(trusted: Answer) -> Callable[[Fact], object]:
        return lambda fact: trusted if isinstance(fact, Probe) else None  # no file of the tool's name

    grade = _grade("environment", settings, server(Answer(0, "")), server(Answer(0, "")))
    assert [(f.what, f.reason) for f in grade.findings] == [("the server trusts the internal CA CN=Internal CA", None)]
    assert grade.passed and not grade.missing
    assert [i.why for i in grade.differs] == ["install the internal CA's root certificate",
                                              "add it to the server's trusted CAs"], grade.reasons()
    untrusted = _grade("environment", settings, server(Answer(1, "error 18 at 0 depth lookup: self-signed "
                                                                 "certificate")), server(Answer(0, "")))
    assert ("the server does not trust CN=Internal CA: /etc/ssl/certs/ca-certificates.crt does not hold it (error 18 "
            "at 0 depth lookup: self-signed certificate); copy it into /usr/local/share/ca-certificates and run "
            "update-ca-certificates") in untrusted.reasons()
    assert not untrusted.passed and len(untrusted.missing) == 2


def test_the_trust_probe_accepts_the_ca_only_when_the_bundle_holds_it(tmp_path) -> None:  # noqa: ANN001
    """The probe's script itself, with this machine's openssl: a bundle with the CA, and one without."""
    import subprocess

    from recipes.environment.meanings import TRUSTED
    from tests.test_environment import certificate

    pem = open(certificate(tmp_path / "ca.pem", ca=True)).read()
    impostor = open(certificate(tmp_path / "other.pem", ca=True)).read()  # the same name, another key
    (tmp_path / "with.crt").write_text(pem)
    (tmp_path / "without.crt").write_text(impostor)
    for bundle, status in (("with.crt", 0), ("without.crt", 1)):
        done = subprocess.run(["sh", "-c", TRUSTED, "sh", pem.strip(), str(tmp_path / bundle)], capture_output=True,
                              text=True)
        assert done.returncode == status, done.stdout + done.stderr


# --- the code step's probes themselves, run by a shell here (runuser stood in for: facts are asked as root)

def _as_is(tmp_path) -> dict[str, str]:  # noqa: ANN001
    """PATH with a `runuser` that runs its command as whoever runs the test (its -u USER -- dropped)."""
    import os

    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "runuser").write_text('#!/bin/sh\nshift 3\nexec "$@"\n')
    (stub / "runuser").chmod(0o755)
    return {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}"}


def test_the_env_probe_reads_a_hand_written_file_as_a_shell_does(tmp_path) -> None:  # noqa: ANN001
    import hashlib
    import subprocess

    from recipes.app_server.meanings import ENV_FILE

    env = tmp_path / "app.env"
    env.write_text("# mine\nMEDIA_ROOT=/srv/demo/shared/media\nGREETING=\"Hello from deploy-wizard\"\n")
    done = subprocess.run(["sh", "-c", ENV_FILE, "sh", "demo", str(env), "GREETING", "STATIC_ROOT"],
                          capture_output=True, text=True, env=_as_is(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"GREETING {hashlib.sha256(b'Hello from deploy-wizard').hexdigest()}", "STATIC_ROOT -"]
    env.write_text("GREETING=(\n")
    broken = subprocess.run(["sh", "-c", ENV_FILE, "sh", "demo", str(env), "GREETING"], capture_output=True,
                            text=True, env=_as_is(tmp_path))
    assert broken.returncode not in (0, 4)  # does not read as an env file; not "cannot read"


def test_the_dependencies_probe_names_what_the_venv_lacks_or_has_out_of_range(tmp_path) -> None:  # noqa: ANN001
    """The release's requirements against a real venv (the one running the tests, which has pip and rich)."""
    import subprocess
    import sys
    from importlib.metadata import version

    from recipes.code.meanings import DEPENDENCIES

    venv = sys.prefix
    release = tmp_path / "base" / "releases" / "by-hand"
    release.mkdir(parents=True)
    (tmp_path / "base" / "next").symlink_to("releases/by-hand")
    (release / "requirements.txt").write_text(
        "# what the app needs\nrich>=1\n-r more.txt\nnot-a-real-package-here==1.0\nrich<1  # too old\n"
        "pywin32>=1; sys_platform == 'win32'\n")
    done = subprocess.run(["sh", "-c", DEPENDENCIES, "sh", venv, str(tmp_path / "base"), "requirements",
                           "requirements.txt", "demo"], capture_output=True, text=True, env=_as_is(tmp_path))
    assert done.stdout.splitlines() == ["not-a-real-package-here==1.0",
                                        f"rich<1 (the venv has {version('rich')})"], done.stderr
