"""The release switch without a server: what it writes as root stays out of the app user's directories, and
every value reaches its script as a positional parameter."""

from __future__ import annotations

from recipes.app_server.gate import failed_marker, probe_for
from recipes.app_server.switch import SWITCH, dropin_path, switch, switch_leaves
from recipes.shared.common import app_dirs
from wizard.engine.step import Context


def test_root_writes_only_where_the_app_user_cannot_plant_a_link() -> None:
    ctx = Context(app="shop", user="shop")
    owned_by_app = [d.path for d in app_dirs(ctx) if d.owner != "root"]
    for path in (failed_marker(ctx), dropin_path(ctx), ctx.current):
        assert not any(path.startswith(d + "/") for d in owned_by_app), path


def test_values_are_parameters_and_a_dry_run_sees_the_release_serving() -> None:
    ctx = Context(app="shop", user="shop")
    command = switch(ctx, "abc123def456", probe_for(ctx, ctx.socket, "/health", 5), 30, failed_marker(ctx))
    assert command.bits[:3] == ("sh", "-c", SWITCH) and "abc123def456" not in SWITCH
    assert "abc123def456" in command.bits[3:]
    left = dict(switch_leaves(ctx, "abc123def456"))
    assert any(getattr(fact, "unit", "") == "shop@abc123def456.service" for fact in left)
