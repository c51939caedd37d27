"""Issue 14, live: two recipes on one server keep each other's server-wide settings. Applied alternately, the
second round changes nothing (no flip-flop), both sites serve, and a recipe that claims another app's server
name is refused with the conflict named."""

from __future__ import annotations

import subprocess

import pytest

from tests.live.conftest import cli, events, finished, on_box
from tests.live.services import FLASK_DOMAIN, flask_recipe_text, lab

ENV = {"DEMO_DB_PASSWORD": "demo-db-secret", "BLOG_DB_PASSWORD": "blog-db-secret"}
BLOG = "blog.example.test"


def blog_recipe(demo: str, name: str = "blog", server_name: str = BLOG) -> str:
    """Another app from the same repository: its own port, package, exporter and journal size."""
    head = demo.split("steps:")[0].replace("name: demo", f"name: {name}")
    repo = next(line for line in demo.splitlines() if "repo:" in line).split("repo:")[1].strip()
    return head + f"""steps:
  os_updates:
    upgrade: none
    packages: [git, htop]
  deploy_user:
    name: {name}
  python:
    version: system
  code:
    repo: {repo}
  database:
    engine: postgresql
    password: env:BLOG_DB_PASSWORD
    migrate: command
    migrate_command: python migrate.py
  static:
    collect: none
    source_dir: static
  app_server:
    module: app:app
    workers: 1
    health_path: /health
    env: {{GREETING: Hello from the blog}}
  nginx:
    server_names: [{server_name}]
  firewall:
    extra_ports: [8443/tcp]
  monitoring:
    prometheus: true
    nginx_exporter: true
    journald_max_use: 300M
"""


@pytest.fixture(scope="module")
def recipes(box, live_dirs):
    with lab(box, live_dirs) as served:
        demo_text = flask_recipe_text(served.git_url, served.acme, box.ip).replace(
            "  monitoring:\n", "  monitoring:\n    prometheus: true\n")
        demo = live_dirs / "demo.yaml"
        demo.write_text(demo_text)
        blog = live_dirs / "blog.yaml"
        blog.write_text(blog_recipe(demo_text))
        clash = live_dirs / "clash.yaml"
        clash.write_text(blog_recipe(demo_text, "clash", FLASK_DOMAIN))
        yield {"demo": demo, "blog": blog, "clash": clash, "ca": served.root_ca(live_dirs / "root.pem")}


def apply(live_dirs, recipe) -> dict[str, object]:
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV, timeout=1500)
    summary = finished(result)
    assert result.returncode == 0 and summary["ok"], result.stdout[-4000:] + result.stderr[-2000:]
    summary["ran"] = [e["description"] for e in events(result) if e["event"] == "change_started" and not e["check"]]
    return summary


def test_two_apps_on_one_server_keep_each_others_settings(box, live_dirs, recipes) -> None:
    apply(live_dirs, recipes["demo"])
    apply(live_dirs, recipes["blog"])
    for name in ("demo", "blog"):  # the second round: nothing either app did is undone by the other
        again = apply(live_dirs, recipes[name])
        assert again["changes"] == 0, (name, again["ran"])

    page = subprocess.run(["curl", "-sS", "-m", "20", "--cacert", str(recipes["ca"]), "--resolve",
                           f"{FLASK_DOMAIN}:443:{box.ip}", f"https://{FLASK_DOMAIN}/"], capture_output=True, text=True)
    assert "Hello from deploy-wizard" in page.stdout, page.stdout + page.stderr
    blog = subprocess.run(["curl", "-sS", "-m", "20", "-H", f"Host: {BLOG}", f"http://{box.ip}/"],
                          capture_output=True, text=True)
    assert "Hello from the blog" in blog.stdout, blog.stdout + blog.stderr

    # one catch-all for the server, kept by both recipes: 80 for both, 443 because demo has TLS
    assert on_box(box, "ls /etc/nginx/sites-enabled").stdout.split() == ["00-default-deny", "blog", "demo"]
    catch_all = on_box(box, "cat /etc/nginx/sites-available/00-default-deny").stdout
    assert "listen 80 default_server;" in catch_all and "listen 443 ssl default_server;" in catch_all
    unknown = subprocess.run(["curl", "-s", "-m", "10", "-H", "Host: unknown.invalid", f"http://{box.ip}/"],
                             capture_output=True)
    assert unknown.returncode == 52  # no answer at all (444), neither app's page

    rules = on_box(box, "ufw status").stdout
    assert "8443/tcp" in rules and "443/tcp" in rules and "80/tcp" in rules
    scraped = on_box(box, "cat /etc/prometheus/prometheus.yml").stdout
    assert "job_name: node" in scraped and "job_name: nginx" in scraped
    assert "SystemMaxUse=300M" in on_box(box, "cat /etc/systemd/journald.conf.d/50-deploy-wizard.conf").stdout
    assert on_box(box, "dpkg-query -W -f '${Status}' htop").stdout == "install ok installed"


def test_a_recipe_claiming_another_apps_server_name_is_refused_naming_it(box, live_dirs, recipes) -> None:
    refused = cli(live_dirs, "plan", str(recipes["clash"]), env=ENV)
    assert refused.returncode != 0
    assert f"conflict with the app demo on this server: it already serves {FLASK_DOMAIN}" in refused.stdout, (
        refused.stdout[-3000:])
