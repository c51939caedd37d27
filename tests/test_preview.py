"""Plan previews on a fresh server (what the wizard shows beside each form before any server is reached)."""

from __future__ import annotations

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
    assert shown["database"][0].startswith("apt-get -y install postgresql")
    assert any("create role demo" in line for line in shown["database"])
    assert any(line.startswith("write /etc/nginx/sites-available/demo") for line in shown["nginx"])
    assert any(line == "ufw --force enable" for line in shown["firewall"])
    assert len(shown["database"]) == len(set(shown["database"]))  # no change twice


def test_preview_never_shows_a_secret() -> None:
    text = "\n".join(line for lines in previews().values() for line in lines)
    assert "preview-placeholder" not in text
