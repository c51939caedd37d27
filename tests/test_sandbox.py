"""The app's systemd sandbox (recipes/shared/sandbox.py): one block for every unit that runs the app's code, scored
by systemd itself where this machine has it, and the same block for the gate's candidate as for the live unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recipes.app_server.gate import candidate
from recipes.app_server.step import AppServerSettings, unit_values
from recipes.app_server.step import render as render_app_server
from recipes.monitoring.step import render as render_monitoring
from recipes.shared import sandbox
from recipes.static.step import StaticSettings
from wizard.engine.step import Context


def shop(media: bool = True) -> Context:
    return Context(app="shop", user="shop", others={"static": StaticSettings(collect="none", media=media)})


def service_unit(ctx: Context) -> str:
    return render_app_server("gunicorn@.service.j2", **unit_values(AppServerSettings(), ctx, 3))


def test_the_unit_and_the_candidate_carry_the_same_sandbox() -> None:
    ctx = shop()
    unit = service_unit(ctx)
    for name, value in sandbox.directives(["/srv/shop/shared/media"]):
        assert f"\n{name}={value}\n" in unit, name
    bits = candidate(ctx, "abc123def456", module="app:app", worker_class="", path="/", wait=30,
                     env_files=["/srv/shop/shared/env/app.env"]).bits
    given = [bits[i + 1] for i, bit in enumerate(bits[:-1]) if bit == "-p"]
    assert given == ["EnvironmentFile=-/srv/shop/shared/env/app.env",
                     *(f"{name}={value}" for name, value in sandbox.directives(["/srv/shop/shared/media"]))]


def test_only_the_uploads_are_writable_and_only_when_there_are_uploads() -> None:
    assert "ReadWritePaths=-/srv/shop/shared/media\n" in service_unit(shop(media=True))
    assert "ReadWritePaths" not in service_unit(shop(media=False))
    assert "ProtectSystem=strict\n" in service_unit(shop(media=False))
    # its home is inside the app's directory: ProtectHome hides /home/shop
    assert "Environment=HOME=/srv/shop/shared/home\n" in service_unit(shop())


def _offline_analyze() -> bool:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return False
    return "--offline" in subprocess.run([tool, "security", "--help"], capture_output=True, text=True).stdout


def health_unit(via_socket: bool) -> str:
    options = "--unix-socket /run/shop/gunicorn.sock " if via_socket else "--resolve shop.test:80:127.0.0.1 "
    return render_monitoring("healthcheck.service.j2", app="shop", url="http://shop.test/", curl_options=options,
                             maintenance_dir="/var/lib/deploy-wizard/maintenance/shop",
                             socket_group="www-data" if via_socket else "", sandbox=sandbox.unit_lines())


def test_the_health_check_runs_as_a_made_up_user_with_the_socket_group_only_for_the_socket() -> None:
    for via_socket in (True, False):
        unit = health_unit(via_socket)
        assert "\nDynamicUser=yes\n" in unit and "\nUser=" not in unit
        assert ("\nSupplementaryGroups=www-data\n" in unit) is via_socket
        assert sandbox.unit_lines() in unit


@pytest.mark.skipif(not _offline_analyze(), reason="no systemd-analyze with --offline (systemd 250+) here")
@pytest.mark.parametrize("name", ["shop@abc123def456.service", "shop-health.service"])
def test_systemd_scores_each_unit_within_the_target(tmp_path: Path, name: str) -> None:
    """What the live test holds on a server, scored here by this machine's systemd from the unit file alone."""
    unit = tmp_path / name
    unit.write_text(service_unit(shop()) if "@" in name else health_unit(via_socket=True))
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
                            capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    assert float(match.group(1)) <= sandbox.EXPOSURE_TARGET, result.stdout


def test_a_level_above_the_target_is_a_warning_with_where_to_look() -> None:
    over = sandbox.exposure_note("shop@a.service", {"level": 5.2, "label": "MEDIUM"}, rewriting=False)
    assert isinstance(over, sandbox.Warn) and "5.2 MEDIUM" in over.text and "shop@a.service.d" in over.fix
    within = sandbox.exposure_note("shop@a.service", {"level": 1.5, "label": "OK"}, rewriting=False)
    assert isinstance(within, sandbox.Ok) and "1.5 OK" in within.reason
    # the unit is being rewritten: the level read is the old unit's, said so, and no warning
    old = sandbox.exposure_note("shop@a.service", {"level": 8.3, "label": "EXPOSED"}, rewriting=True)
    assert isinstance(old, sandbox.Ok) and "before this change" in old.reason
    assert sandbox.exposure_note("shop@a.service", None, rewriting=False) is None
