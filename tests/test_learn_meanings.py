"""Issue 21 follow-up (unit): the meanings of redis and workers, fact outputs in, grade out. A step done by hand
the way a person would (other file names, comments, options) passes with "differs" notes only; a broken one
fails with the reason. The live proof of grading itself: tests/live/test_learn.py."""

from __future__ import annotations

from collections.abc import Callable

from recipes.shared.meanings import Answer, Probe
from recipes.workers.facts import WorkerUnits
from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.learn.grade import Finding, Grade, judge, sort_changes
from wizard.app.recipefile import load
from wizard.app.teach import Teacher
from wizard.engine.commands import Secret
from wizard.engine.facts import Fact, FactValues
from wizard.engine.step import Change, Context, StepSettings

PASSWORD = "correct-horse-battery"


def _secret(ref: str, label: str) -> Secret:
    return Secret(label, PASSWORD, ref=ref)


def _setup(step_name: str, settings: dict) -> tuple[object, StepSettings, Context, Teacher]:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    step = registry.by_name()[step_name]
    return step, step.Settings(**settings), recipe.context(_secret), Teacher.for_recipe(recipe)


def _grade(step_name: str, settings: dict, answer: Callable[[Fact], object],
           plan_facts: Callable[[Fact], object]) -> Grade:
    """What grade_step concludes from these fact outputs: the step's own plan against `plan_facts`, its meanings
    against `answer` (the checks are run live only)."""
    step, s, ctx, teacher = _setup(step_name, settings)
    known = FactValues()
    for _round in range(4):  # facts ask again with what is known, like the gatherer
        for fact in step.facts(s, known, ctx):
            known.update({fact.key: plan_facts(fact)})
    changes = [c for c in step.plan(s, known, ctx) if isinstance(c, Change)]
    meanings = list(step.meanings(s, ctx))
    found = judge(meanings, FactValues({f.key: answer(f) for m in meanings for f in m.facts}))
    missing, differs = sort_changes(changes, found, teacher)
    return Grade(step_name, [Finding(m.what, r) for m, r in found], missing, differs)


# --- redis: configured by hand in Debian's /etc/redis/redis.conf, REDIS_URL written by hand

def _redis_server(fact: Fact) -> object:
    """The plan's facts of a server where Redis was set up by hand: the package, Debian's files only."""
    kind = fact.key.split(":", 1)[0]
    return {"packages": {"redis-server": "5:7.0.15-1"}, "unit": {"ActiveState": "active", "UnitFileState": "enabled"},
            "claims": {}}.get(kind)


def _redis_answers(*, listen: Answer = Answer(0, ""), url: str = "") -> Callable[[Fact], object]:
    import hashlib

    wanted = url or f"redis://:{PASSWORD}@127.0.0.1:6379/0"

    def answer(fact: Fact) -> object:
        assert isinstance(fact, Probe)
        if "is-active" in fact.script:
            return Answer(0, "active")
        if "ss -ltnH" in fact.script:
            return listen
        return Answer(0, hashlib.sha256(wanted.encode()).hexdigest())

    return answer


def test_redis_configured_by_hand_passes_with_differences_only() -> None:
    grade = _grade("redis", {"password": "env:REDIS_PW"}, _redis_answers(), _redis_server)
    assert all(f.holds for f in grade.findings), grade.reasons()
    assert [f.what for f in grade.findings] == [
        "redis-server is running",
        "Redis listens on 127.0.0.1 port 6379 only and refuses clients without the password",
        "demo finds REDIS_URL with the recipe's password in /srv/demo/shared/env/redis.env"]
    assert grade.passed and not grade.missing, grade.reasons()
    differs = "\n".join(item.why for item in grade.differs)
    assert "/etc/deploy-wizard/redis/redis.conf" in differs and "REDIS_URL" in differs


def test_redis_on_every_address_or_without_a_password_or_a_wrong_url_fails_with_the_reason() -> None:
    public = _grade("redis", {"password": "env:REDIS_PW"}, _redis_answers(listen=Answer(2, "0.0.0.0:6379")),
                    _redis_server)
    assert not public.passed
    assert ("Redis listens on 0.0.0.0:6379, outside the loopback: bind it to 127.0.0.1 and ::1 only"
            in public.reasons())
    assert any("redis.conf" in item.why for item in public.missing)  # the configuration is missing, not taste
    open_ = _grade("redis", {"password": "env:REDIS_PW"}, _redis_answers(listen=Answer(3, "PONG")), _redis_server)
    assert "Redis answers a client without the password (PONG): set requirepass" in open_.reasons()
    stale = _grade("redis", {"password": "env:REDIS_PW"}, _redis_answers(url="redis://:old-password@127.0.0.1:6379/0"),
                   _redis_server)
    assert ("REDIS_URL in /srv/demo/shared/env/redis.env is not redis://:***@127.0.0.1:6379/0 with the recipe's "
            "password (percent-encoded)") in stale.reasons()
    assert PASSWORD not in "\n".join(stale.reasons())
    env = next(i for i in stale.missing if i.why.startswith("write REDIS_URL"))
    assert "redis://:***@" in env.reason  # missing, with the reason, not a difference of taste
    assert not any("redis.conf" in i.why for i in stale.missing)  # Redis itself is right: its files differ only


# --- workers: a unit written by hand, two instances of worker "default"

WORKERS = {"processes": {"default": "rq worker"}, "instances": {"default": 2}}
LIVE = "20260101-120000-abc1234"


def _instance(active: str = "active", release: str = LIVE) -> dict:
    return {"active": active, "enabled": True, "since": 100.0, "cwd": f"/srv/demo/releases/{release}"}


def _workers(instances: dict[str, dict]) -> Callable[[Fact], object]:
    def answer(fact: Fact) -> object:
        if isinstance(fact, WorkerUnits):
            return {"files": ["default"], "instances": {"default": instances}, "env_changed": 50.0,
                    "venv_changed": None}
        if fact.key.startswith("readlink:/srv/demo/current"):
            return f"releases/{LIVE}"
        return None

    return answer


def test_workers_run_by_a_hand_written_unit_pass_with_differences_only() -> None:
    answer = _workers({"1": _instance(), "2": _instance()})
    grade = _grade("workers", WORKERS, answer, answer)
    assert [(f.what, f.reason) for f in grade.findings] == [
        ("worker default: 2 instances run in the live release", None)]
    assert grade.passed and not grade.missing, grade.reasons()
    assert [item.why for item in grade.differs] == [
        "write the unit of worker default: rq worker", "make systemd read the changed units",
        "restart worker default (2 processes) on release 20260101-120000-abc1234: its unit changed"]


def test_a_worker_down_on_an_old_release_or_one_too_many_fails_with_the_reason() -> None:
    down = _workers({"1": _instance(), "2": _instance("failed")})
    assert "demo-worker-default@2.service is not running (`systemctl status demo-worker-default@2.service`)" in (
        _grade("workers", WORKERS, down, down).reasons())
    manual = _workers({"1": _instance(), "2": {**_instance(), "enabled": False}})
    assert ("demo-worker-default@2.service is not enabled: it would not start at boot (`systemctl enable "
            "demo-worker-default@2.service`)") in _grade("workers", WORKERS, manual, manual).reasons()
    old = _workers({"1": _instance(release="20251231-000000-0000000"), "2": _instance()})
    assert ("demo-worker-default@1.service runs in /srv/demo/releases/20251231-000000-0000000, not in the live "
            "release 20260101-120000-abc1234: restart it") in _grade("workers", WORKERS, old, old).reasons()
    extra = _workers({"1": _instance(), "2": _instance(), "3": _instance()})
    graded = _grade("workers", WORKERS, extra, extra)
    assert "worker default runs 1 instance more than its 2: demo-worker-default@3" in graded.reasons()
    assert any("stop 1 instance of worker default" in item.why for item in graded.missing)


# --- code: cloned by hand into releases/by-hand, `current` linked with an absolute path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CODE = {"repo": "https://git.example.test/demo.git", "ref": "main"}


ENV = {"STATIC_ROOT": "/srv/demo/current/static", "MEDIA_ROOT": "/srv/demo/shared/media",
       "GREETING": "Hello from deploy-wizard"}  # app.env of examples/flask-app.yaml, as a shell reads it


def _env_file(values: dict[str, str]) -> Answer:
    """The env probe's answer for a file that sets `values`: each name asked with the sha256 of its value."""
    import hashlib

    return Answer(0, "\n".join(f"{n} {hashlib.sha256(values[n].encode()).hexdigest()}" if n in values else f"{n} -"
                               for n in ENV))


def _code(links: str, remote: dict | None = None, deps: Answer = Answer(0, ""),
          env: Answer | None = None) -> tuple[Callable[[Fact], object], Callable[[Fact], object]]:
    def plan_facts(fact: Fact) -> object:
        kind, _sep, rest = fact.key.partition(":")
        if kind == "remote-ref":
            return remote or {"sha": COMMIT, "error": None}
        if kind == "readlink":
            return "/srv/demo/releases/by-hand" if rest == "/srv/demo/current" else None
        if kind == "entries":
            return ["by-hand"]
        if rest.endswith("requirements.txt"):  # the release's file, as the learner's pip installed from it
            return {"type": "file", "mode": "644", "owner": "demo", "group": "demo", "sha256": "ab" * 32}
        return {"type": "file", "mode": "755", "owner": "demo", "group": "demo"} if rest.endswith("/bin/pip") else None

    def answer(fact: Fact) -> object:
        if not isinstance(fact, Probe):
            return plan_facts(fact)
        if "readlink" in fact.script:
            return Answer(0, links)
        if "importlib.metadata" in fact.script:
            return deps
        return env or _env_file(ENV)

    return answer, plan_facts


def test_code_cloned_by_hand_into_a_release_of_its_own_name_is_the_release() -> None:
    answer, plan_facts = _code(f"current by-hand {COMMIT}\n")
    grade = _grade("code", CODE, answer, plan_facts)
    assert [(f.what, f.reason) for f in grade.findings] == [
        ("a release under /srv/demo/releases holds the commit main names, and current or next leads to it", None),
        ("the venv /srv/demo/venv holds every dependency the release names", None),
        ("demo finds each of the app's variables with the recipe's value in /srv/demo/shared/env/app.env", None)]
    assert grade.passed and not grade.missing, grade.reasons()
    differs = "\n".join(item.why for item in grade.differs)
    assert "check out main (0123456789ab) into /srv/demo/releases/0123456789ab" in differs
    assert "stage release 0123456789ab" in differs or "switch current to release 0123456789ab" in differs


def test_code_on_another_commit_or_outside_the_releases_fails_with_the_reason() -> None:
    answer, plan_facts = _code("current by-hand fedcba9876543210fedcba9876543210fedcba98\n")
    grade = _grade("code", CODE, answer, plan_facts)
    assert ("/srv/demo/current leads to release by-hand at commit fedcba987654, not 0123456789ab (main)"
            in grade.reasons())
    assert any(item.why.startswith("check out main") for item in grade.missing)
    outside, plan_facts = _code("current - -\n")
    assert "/srv/demo/current leads outside /srv/demo/releases" in _grade("code", CODE, outside, plan_facts).reasons()


# --- monitoring: the node exporter and journald set up by hand (logrotate and the health check left out)

MONITORING = {"journald_max_use": "200M", "logrotate": False, "health_check": False}


def _monitoring_server(fact: Fact) -> object:
    kind, _sep, rest = fact.key.partition(":")
    return {"packages": dict.fromkeys(rest.split(","), "1"), "claims": {},
            "unit": {"ActiveState": "active", "UnitFileState": "enabled"}}.get(kind)


def _monitoring(metrics: Answer, journal: Answer = Answer(0, "500M"),
                disks: Answer = Answer(0, "")) -> Callable[[Fact], object]:
    def answer(fact: Fact) -> object:
        assert isinstance(fact, Probe)
        return metrics if "curl" in fact.script else disks if "df -P" in fact.script else journal

    return answer


def test_monitoring_by_hand_passes_with_differences_only() -> None:
    grade = _grade("monitoring", MONITORING, _monitoring(Answer(0, "")), _monitoring_server)
    assert [f.what for f in grade.findings] == ["the node exporter answers with metrics at "
                                                "http://127.0.0.1:9100/metrics",
                                                "the journal is kept on disk within a size limit",
                                                "no disk is more than 90 % full"]
    assert grade.passed and not grade.missing, grade.reasons()
    assert "node exporter listens on 127.0.0.1:9100" in [item.why for item in grade.differs]


def test_a_silent_exporter_or_an_unbounded_journal_fails_with_the_reason() -> None:
    down = _grade("monitoring", MONITORING, _monitoring(Answer(1, "curl: (7) Failed to connect")),
                  _monitoring_server)
    assert ("nothing answers at http://127.0.0.1:9100/metrics (curl: (7) Failed to connect): is "
            "prometheus-node-exporter running and listening on 127.0.0.1:9100?") in down.reasons()
    assert "node exporter listens on 127.0.0.1:9100" in [item.why for item in down.missing]
    unbounded = _grade("monitoring", MONITORING, _monitoring(Answer(0, ""), Answer(1, "")), _monitoring_server)
    assert "no journald configuration sets SystemMaxUse: the journal may fill the disk" in unbounded.reasons()
    assert "cap the journal at 200M" in [item.why for item in unbounded.missing]


def test_a_disk_more_than_90_percent_full_fails_with_where() -> None:
    """The disk-full drill's grade: df's full filesystems named, with how to find what fills them."""
    full = _grade("monitoring", MONITORING, _monitoring(Answer(0, ""), disks=Answer(1, "/var/log/demo 97%")),
                  _monitoring_server)
    assert not full.passed
    assert ("more than 90 % full: /var/log/demo 97% (`df -h`, then `sudo du -xsh DIR/*` finds what fills it)"
            in full.reasons()), full.reasons()
