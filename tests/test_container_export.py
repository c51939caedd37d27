"""`export --format container` without podman: what it writes, and the recipes it refuses (naming the setting).

The build and run are proven live in tests/live/test_container_export.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wizard.app.exports.container import BASE_IMAGE, NotContainerisable, container_files
from wizard.app.recipefile import load, with_overrides

ROOT = Path(__file__).resolve().parents[1]


def test_django_example_is_exported_with_its_collectstatic_migrations_and_secrets_from_the_environment():
    files = container_files(load(ROOT / "examples" / "django-app.yaml"), "deploy")
    containerfile = files["Containerfile"]
    assert containerfile.count(f"FROM {BASE_IMAGE} AS base") == 1
    assert "--target app" in containerfile and "AS web" in containerfile and "AS db" in containerfile
    # collectstatic at build time, with placeholders only for what the settings module reads at import
    assert "SECRET_KEY=collectstatic-placeholder DATABASE_URL=collectstatic-placeholder python manage.py " \
           "collectstatic --noinput" in containerfile
    assert "python manage.py migrate --noinput" in containerfile  # before gunicorn, when the container starts
    assert '"shop.wsgi:application"' in containerfile and '"--timeout", "30"' in containerfile
    compose = yaml.safe_load(files["compose.yaml"])
    app = compose["services"]["app"]["environment"]
    assert app["SECRET_KEY"] == "${SHOP_SECRET_KEY:?set SHOP_SECRET_KEY}"
    assert app["DATABASE_URL"] == "postgresql://shop:${SHOP_DB_PASSWORD:?set SHOP_DB_PASSWORD}@db:5432/shop"
    assert "# tls: TLS ends at the platform's ingress" in files["compose.yaml"]
    assert "alias /srv/shop/shared/static/;" in files["nginx.conf"]
    assert "client_max_body_size 20m;" in files["nginx.conf"]
    assert 'CREATE ROLE :"user" LOGIN PASSWORD :\'pw\';' in files["db-init.sh"]


@pytest.mark.parametrize(("override", "words"), [
    ("python.version=3.12", "python.version: the image has Debian's python3; 3.12 is not in it"),
    ("code.install=poetry", "code.install: poetry"),
    ("database.engine=mariadb", "database.engine: mariadb"),
])
def test_a_recipe_that_cannot_be_containerised_is_refused_naming_the_setting(override, words):
    recipe = with_overrides(load(ROOT / "examples" / "flask-app.yaml"), [override])
    with pytest.raises(NotContainerisable) as info:
        container_files(recipe, "deploy")
    assert words in str(info.value) and "cannot be exported as containers" in str(info.value)


def test_cli_refuses_without_a_directory_and_without_an_app(tmp_path):
    run = [sys.executable, "-m", "wizard", "export", str(ROOT / "examples" / "sandbox.yaml"), "--format", "container"]
    done = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "give -o DIR" in done.stderr
    done = subprocess.run([*run, "-o", str(tmp_path / "deploy")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "steps.app_server: the recipe runs no app" in done.stderr
    assert "Traceback" not in done.stderr
