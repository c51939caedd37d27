"""Host facts of firewall: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


class UfwState(Fact):
    kind = "ufw"

    def command(self) -> Command:
        return sh('ufw status | head -n1; ufw show added 2>/dev/null | grep "^ufw " || true; '
                  '. /etc/default/ufw 2>/dev/null; echo "policy=${DEFAULT_INPUT_POLICY:-}"')

    def fresh(self) -> dict[str, object]:
        return {"active": False, "rules": set(), "policy": "DROP"}

    def requires(self) -> tuple[str, ...]:
        return ("ufw",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        lines = out.splitlines()
        rules = {line.removeprefix("ufw ").strip() for line in lines if line.startswith("ufw ")}
        policy = next((line.split("=", 1)[1] for line in lines if line.startswith("policy=")), "")
        return {"active": bool(lines) and lines[0].strip() == "Status: active", "rules": rules, "policy": policy}
