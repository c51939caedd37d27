"""Plan previews on a fresh server (what the wizard shows beside each form before any server is reached)."""

from __future__ import annotations

from recipes.python.facts import OsRelease, SystemPython
from tests.conftest import ROOT
from wizard.app.preview import preview
from wizard.app.recipefile import load


def previews() -> dict[str, list[str]]:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    ctx = recipe.context()
    shown = {}
    for step, settings in recipe.selected():
        changes, _notes, error = preview(step, settings, ctx)
        assert error is None, (step.name, error)
        shown[step.name] = [change.describe() for change in changes]
    return shown


def test_every_step_of_the_example_previews_without_a_server() -> None:
    shown = previews()
    assert set(shown) == {"os_updates", "deploy_user", "python", "code", "database", "static", "app_server",
                          "nginx", "tls", "firewall", "monitoring"}
    assert all(shown.values())


def test_preview_goes_past_package_installs() -> None:
    shown = previews()
    assert shown["database"][0].startswith("apt-get -y install --no-install-recommends postgresql logrotate")
    assert any("create role demo" in line for line in shown["database"])
    assert any(line.startswith("write /etc/nginx/sites-available/demo") for line in shown["nginx"])
    assert any(line == "ufw --force enable" for line in shown["firewall"])
    assert len(shown["database"]) == len(set(shown["database"]))  # no change twice


def test_preview_never_shows_a_secret() -> None:
    text = "\n".join(line for lines in previews().values() for line in lines)
    assert "preview-placeholder" not in text


def test_preview_reads_the_fresh_servers_python_as_one_server() -> None:
    """The fresh server of a preview is one release: its python3 (SystemPython.fresh) is the one its os-release
    (OsRelease.fresh) ships, so a version equal to it is the system Python and another one is refused by name."""
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    step = next(step for step, _settings in recipe.selected() if step.name == "python")
    same = step.Settings(version=SystemPython().fresh())
    changes, _notes, error = preview(step, same, recipe.context())
    assert error is None and any(c.describe().startswith("/usr/bin/python3 -m venv") for c in changes)
    _changes, _notes, error = preview(step, step.Settings(version="3.99"), recipe.context())
    release = OsRelease().fresh()["PRETTY_NAME"]
    assert error is not None and f"{release} (it ships {SystemPython().fresh()})" in error
