"""When the firewall's proof of SSH fails, the failure says that the revert is armed and when it fires: the
operator, cut off by the firewall, learns that waiting fixes it and for how long."""

from __future__ import annotations

import re
import time

import pytest

from recipes.firewall.step import FirewallSettings
from tests.fakes import ScriptedTransport
from tests.test_step_cases import fact_values
from wizard.app import registry
from wizard.engine.runner import Runner, StepError
from wizard.engine.step import Context, ProveLogin

FACTS = {"packages": {"ufw": "0.36.2-1"}, "ufw": {"active": False, "rules": [], "policy": "DROP"},
         "files": {"/etc/ssh/sshd_config.d/01-deploy-wizard-hardening.conf": None}}


class Refused(ScriptedTransport):
    async def probe_login(self, user: str | None = None) -> str | None:
        return "connection refused"


async def test_a_failed_proof_names_the_armed_revert_and_when_it_fires() -> None:
    step, ctx = registry.step("firewall"), Context(app="shop", ssh_port=2222)
    settings = FirewallSettings(revert_after=90)
    planned = time.time()
    proof = next(c for c in step.plan(settings, fact_values(FACTS), ctx) if isinstance(c, ProveLogin))
    runner = Runner(Refused(), [(step, settings)], lambda event: None, ctx=ctx)
    with pytest.raises(StepError) as info:
        await runner._execute("firewall", proof)
    message = str(info.value)
    assert message.startswith("a fresh SSH login failed: connection refused\n")
    assert "The automatic revert is armed: about 90 s after the firewall went on" in message
    assert "is port 2222/tcp allowed?" in message
    clock = re.search(r"at about (\d\d:\d\d:\d\d)", message)
    assert clock is not None, message
    fires = time.strptime(clock.group(1), "%H:%M:%S")
    expected = time.localtime(planned + 90)
    seconds = lambda t: t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec  # noqa: E731
    assert (seconds(fires) - seconds(expected)) % 86400 in (0, 1, 2, 86399)


async def test_a_proof_without_a_note_fails_with_the_login_error_alone() -> None:
    runner = Runner(Refused(), [], lambda event: None)
    with pytest.raises(StepError) as info:
        await runner._execute("deploy_user", ProveLogin("prove it"))
    assert str(info.value) == "a fresh SSH login failed: connection refused"
