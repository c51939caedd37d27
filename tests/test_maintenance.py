"""Maintenance mode without a server: the page escapes the operator's words, bad text and a recipe without
nginx are refused before connecting, and the scripts run in a real shell against a directory of this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from wizard.app import maintenance
from wizard.app.recipefile import load
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.step import Context
from wizard.engine.transports.local import LocalTransport


def test_the_page_escapes_the_message_and_keeps_line_breaks() -> None:
    text = maintenance.page("Back at <noon> & later\nThanks")
    assert "Back at &lt;noon&gt; &amp; later<br>\nThanks" in text


@pytest.mark.parametrize("message", ["", "\x00", "bell\x07", "x" * 2001])
def test_bad_messages_are_bad_input(message: str) -> None:
    with pytest.raises(DeployWizardError) as refused:
        maintenance.page(message)
    assert refused.value.exit_code == ExitCode.BAD_INPUT


def test_a_recipe_without_nginx_is_refused(tmp_path: Path) -> None:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    maintenance.needs_nginx(recipe)
    text = (ROOT / "examples" / "flask-app.yaml").read_text()
    without = text.split("  static:")[0] + "  firewall: {}\n"  # nginx and what needs it (static, tls) left out
    path = tmp_path / "no-nginx.yaml"
    path.write_text(without)
    with pytest.raises(DeployWizardError, match="no nginx step"):
        maintenance.needs_nginx(load(path))


async def test_on_keeps_its_time_off_removes_the_switch_status_only_reads(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "maintenance" / "demo"
    monkeypatch.setattr(Context, "maintenance_dir", property(lambda self: str(where)))
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    transport = LocalTransport()
    await transport.connect()
    state = await maintenance.switch(transport, recipe, "on", "soon")
    assert state.on and state.changed and (where / "on").exists() and "soon" in (where / "index.html").read_text()
    again = await maintenance.switch(transport, recipe, "on", "later")
    assert again.on and not again.changed and again.since == state.since
    assert "later" in (where / "index.html").read_text()  # the words can change while it is on
    assert (await maintenance.switch(transport, recipe, "status")).on
    off = await maintenance.switch(transport, recipe, "off")
    assert not off.on and off.changed and not (where / "on").exists()
    assert not (await maintenance.switch(transport, recipe, "off")).changed
