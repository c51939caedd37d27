"""Golden files: every config file the plan for examples/flask-app.yaml writes, kept and compared.

The files come from the steps' own plans (their PutFile changes), not from calling templates here, so a
golden file is exactly what a server gets. They are kept under snapshots/config/STEP/ with the server path
(snapshots/config/nginx/etc/nginx/sites-available/demo), so a step's files are found by its name. A few
settings the example leaves off are switched on with `--set` (VARIANTS), and the plans run twice: on a fresh
server, and once the certificate is issued (the tls step then rewrites the site for HTTPS). Every template
under recipes/*/templates must end up in some golden file. Regenerate on purpose with UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import pytest

from recipes.shared.claims import CLAIMS
from tests.conftest import ROOT
from wizard.app.preview import FreshFacts, InstalledFacts
from wizard.app.recipefile import load, with_overrides
from wizard.engine.commands import Secret
from wizard.engine.facts import Fact, FileState
from wizard.engine.step import Ok, PutFile

GOLDEN = ROOT / "snapshots" / "config"
VARIANTS = {
    "as in the example": [],
    "every optional file": ["os_updates.unattended_upgrades=true", "monitoring.prometheus=true",
                            "monitoring.nginx_exporter=true", "monitoring.postgres_exporter=true",
                            "monitoring.app_metrics=true", "monitoring.alert_email=ops@example.com",
                            "monitoring.smtp_relay=smtp.example.com:587", "monitoring.smtp_user=alerts",
                            "monitoring.smtp_password=env:DEMO_SMTP_PASSWORD",
                            "firewall.ssh_hardening=true", "firewall.fail2ban=true",
                            "backups.schedule=*-*-* 03:00", "jobs.commands=digest=flask send-digest --to ops",
                            "jobs.schedules=digest=Mon *-*-* 07:00"],
    "with redis and workers": ["redis.password=env:DEMO_REDIS_PASSWORD", "redis.maxmemory=64mb",
                               "workers.processes=default=python worker.py default, beat=python beat.py",
                               "workers.instances=default=3", "workers.stop_timeout=default=60"],
    "with a central Prometheus": ["monitoring.prometheus=true", "monitoring.app_metrics=true",
                                  "monitoring.central_prometheus=192.0.2.10"],
}
# A variant that adds steps changes what other steps write (a third env file in the gunicorn unit): only the
# files of the steps it is about are kept from it.
ONLY = {"with redis and workers": ("redis", "workers")}
# A variant that changes files another variant writes too (the exporters' addresses): only these files of it.
ONLY_FILES = {"with a central Prometheus": ("/etc/prometheus/central-scrape.yml",)}
CERT = "/etc/letsencrypt/live/demo.example.test"
CERTIFICATE = {"cert:demo.example.test": {"expires": "2099-01-01T00:00:00+00:00", "names": ["demo.example.test"]},
               f"file:{CERT}/fullchain.pem": FileState("0" * 64, "644", "root", "root", 1, b"x")}


class Server(InstalledFacts):
    """A server with the steps' packages installed, plus the given facts (by key)."""

    def __init__(self, known: dict[str, Any]) -> None:
        super().__init__()
        self.known = known

    def __getitem__(self, fact: Fact | str) -> Any:
        if isinstance(fact, Fact) and fact.key in self.known:
            return self.known[fact.key]
        return super().__getitem__(fact)


def planned_files() -> tuple[dict[str, str], set[str]]:
    """{golden path: content} of every file the plans write, and the templates they rendered.

    A file is kept from the first server state that writes it, the order a real first apply meets them:
    the nginx step writes the HTTP site (no certificate yet), the tls step the HTTPS one.
    """
    used: set[str] = set()
    original = jinja2.Environment.get_template

    def recording(env: jinja2.Environment, name: str | jinja2.Template, *args: Any, **kwargs: Any) -> jinja2.Template:
        used.add(str(name))
        return original(env, name, *args, **kwargs)

    jinja2.Environment.get_template = recording  # type: ignore[method-assign,assignment]
    files: dict[str, tuple[int, str]] = {}
    try:
        example = load(ROOT / "examples" / "flask-app.yaml")
        for variant, overrides in VARIANTS.items():
            recipe = with_overrides(example, overrides)
            ctx = recipe.context(secrets=lambda ref, label: Secret(label, "golden-secret"))
            for state, facts in enumerate((FreshFacts(), Server({}), Server(CERTIFICATE))):
                for step, settings in recipe.selected():
                    for change in step.plan(settings, facts, ctx):
                        if (isinstance(change, Ok) or not isinstance(change, PutFile) or change.secret
                                or change.path.startswith(CLAIMS)  # data of several apps, tested in cases
                                or step.name not in ONLY.get(variant, (step.name,))
                                or change.path not in ONLY_FILES.get(variant, (change.path,))):
                            continue
                        path, content = f"{step.name}{change.path}", change.content.decode()
                        first = files.setdefault(path, (state, content))
                        assert first[0] != state or first[1] == content, f"{path} differs between variants"
    finally:
        jinja2.Environment.get_template = original  # type: ignore[method-assign]
    return {path: content for path, (_state, content) in files.items()}, used


FILES, TEMPLATES_USED = planned_files()


@pytest.mark.parametrize("name", sorted(FILES))
def test_planned_config_matches_golden_file(name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FILES[name])
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert FILES[name] == path.read_text()


def test_no_stale_golden_files() -> None:
    kept = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file())
    assert kept == sorted(FILES)


def test_every_template_has_a_golden_file() -> None:
    templates = {p.name for p in Path(ROOT / "recipes").glob("*/templates/*.j2")}
    assert templates == TEMPLATES_USED
