"""The release switch without a server: what it writes as root stays out of the app user's directories, and
every value reaches its script as a positional parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.app_server.gate import failed_marker, probe_for
from recipes.app_server.switch import SWITCH, dropin_path, switch, switch_leaves
from recipes.shared.common import app_dirs
from tests.fakes import ScriptedTransport
from wizard.app.recipefile import load
from wizard.app.rollback import rollback
from wizard.engine.facts import Fact, FactGatherer
from wizard.engine.step import Context
from wizard.engine.transports.base import OutputCallback, Result


def test_root_writes_only_where_the_app_user_cannot_plant_a_link() -> None:
    ctx = Context(app="shop", user="shop")
    owned_by_app = [d.path for d in app_dirs(ctx) if d.owner != "root"]
    for path in (failed_marker(ctx), dropin_path(ctx), ctx.current):
        assert not any(path.startswith(d + "/") for d in owned_by_app), path


def test_values_are_parameters_and_a_dry_run_sees_the_release_serving() -> None:
    ctx = Context(app="shop", user="shop")
    command = switch(ctx, "abc123def456", probe_for(ctx, ctx.socket, "/health", 5), 30, failed_marker(ctx),
                     before="0123456789ab")
    assert command.bits[:3] == ("sh", "-c", SWITCH) and "abc123def456" not in SWITCH
    assert "abc123def456" in command.bits[3:]
    left = dict(switch_leaves(ctx, "abc123def456"))
    assert any(getattr(fact, "unit", "") == "shop@abc123def456.service" for fact in left)


def test_the_command_shown_names_the_release_it_stops_and_none_on_a_first_release() -> None:
    ctx = Context(app="shop", user="shop")
    probe = probe_for(ctx, ctx.socket, "/health", 5)
    later = switch(ctx, "abc123def456", probe, 30, failed_marker(ctx), before="0123456789ab").summary()
    assert "systemctl stop shop@0123456789ab.service" in later and "watch /health for 30 s" in later
    first = switch(ctx, "abc123def456", probe, 0, failed_marker(ctx), before=None).summary()
    assert first.endswith("systemctl start shop@abc123def456.service ...") and "stop" not in first
    assert "before" not in first and "before" not in later


ROLLBACK_RECIPE = """version: 1
name: shop
target: {host: 10.0.0.5, user: admin}
steps:
  deploy_user: {name: shop}
  code: {repo: "https://example.com/shop.git"}
  app_server: {module: "shop.wsgi:application", health_path: /health/, watch: 30}
"""


class Talking(ScriptedTransport):
    """Answers as the server's scripts do: the switch says what it is doing on stdout as it goes."""

    async def _exec(self, command_line: str, stdin: str | None, on_output: OutputCallback | None,
                    timeout: float) -> Result:
        result = await super()._exec(command_line, stdin, on_output, timeout)
        if on_output is not None and "watching its health" in command_line:
            on_output("stdout", "deploy-wizard: release aaaaaaaaaaaa is live; watching its health for 30 s")
            on_output("stdout", "some other line of the script")
        return result


async def test_a_rollback_says_what_it_waits_for_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recipes.code import rollback as code_rollback

    async def facts(self: FactGatherer, wanted: list[Fact]) -> dict[Fact, object]:
        return {wanted[0]: ["aaaaaaaaaaaa", "bbbbbbbbbbbb"], wanted[1]: "releases/bbbbbbbbbbbb"}

    monkeypatch.setattr(code_rollback.FactGatherer, "gather", facts)
    path = tmp_path / "shop.yaml"
    path.write_text(ROLLBACK_RECIPE)
    transport, said = Talking(), list[str]()
    await transport.connect()
    done = await rollback(transport, load(path), say=said.append)
    assert (done.before, done.after) == ("bbbbbbbbbbbb", "aaaaaaaaaaaa")
    gate, _done, switch_to, live, _done2 = said
    assert gate.startswith("start release aaaaaaaaaaaa beside the live one and ask it /health/")
    assert switch_to.startswith("switch to release aaaaaaaaaaaa: it starts beside release bbbbbbbbbbbb") \
        and "watched for 30 seconds" in switch_to
    assert live == "release aaaaaaaaaaaa is live; watching its health for 30 s"
    assert _done.startswith("done (") and _done2.startswith("done (")
