"""Golden files: every config file the example recipe renders, kept under snapshots/config/ and compared.

A template change shows up here as a reviewable diff. Regenerate on purpose with UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os

import pytest

from recipes.app_server.step import unit_values
from recipes.monitoring.step import MonitoringSettings
from recipes.nginx.step import cert_dir, render_site
from recipes.shared.templating import render
from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.recipefile import load
from wizard.engine.facts import FactValues, FileState

GOLDEN = ROOT / "snapshots" / "config"


def rendered() -> dict[str, str]:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    ctx = recipe.context()
    steps = recipe.steps
    cert = f"{cert_dir('demo.example.test')}/fullchain.pem"
    without_cert = FactValues({"file:" + cert: None})
    with_cert = FactValues({"file:" + cert: FileState("x", "644", "root", "root", 1, b"x")})
    monitoring: MonitoringSettings = steps.monitoring
    health = registry.step("monitoring")._health_url(ctx)  # type: ignore[attr-defined]
    files = {
        "nginx-site-http.conf": render_site(ctx, steps.nginx, without_cert),
        "nginx-site-https.conf": render_site(ctx, steps.nginx, with_cert),
        "demo.socket": render("gunicorn.socket.j2", **unit_values(steps.app_server, ctx, 2)),
        "demo.service": render("gunicorn.service.j2", **unit_values(steps.app_server, ctx, 2)),
        "20auto-upgrades": render("20auto-upgrades.j2"),
        "logrotate-demo": render("logrotate.j2", app="demo", user="demo", frequency="daily",
                                 keep=monitoring.logrotate_keep),
        "journald.conf": render("journald.conf.j2", max_use=monitoring.journald_max_use),
        "node-exporter.default": render("node-exporter.default.j2", listen=monitoring.node_exporter_listen),
        "demo-health.service": render("healthcheck.service.j2", app="demo", url=health[0], curl_options=health[1]),
        "demo-health.timer": render("healthcheck.timer.j2", app="demo", interval=monitoring.health_interval),
        "sshd-hardening.conf": render("sshd-hardening.conf.j2", user="demo"),
        "prometheus.yml": render("prometheus.yml.j2", node_target="127.0.0.1:9100", nginx_exporter=True,
                                 postgres_exporter=True),
    }
    return files


FILES = rendered()


@pytest.mark.parametrize("name", sorted(FILES))
def test_rendered_config_matches_golden_file(name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FILES[name])
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert FILES[name] == path.read_text()


def test_no_stale_golden_files() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(FILES)
