"""Host facts of firewall: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.i18n import translator

_ = translator(__file__)


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


def ufw_blocks(status: str, ports: list[str]) -> str | None:
    """Why `ufw status` does not let every one of `ports` in (None when it does): inactive, or the first rule
    naming the port is not ALLOW, or no rule names it."""
    lines = status.splitlines()
    if not lines or lines[0].strip() != "Status: active":
        return _("ufw is not active (`ufw status` says: {status})").format(status=(lines or ["?"])[0].strip())
    for port in ports:
        first = next((line.split() for line in lines[1:] if line.split()[:1]
                      and line.split()[0].split("/")[0] == port), None)
        if first is None:
            return _("no ufw rule lets port {port} in: the default policy drops it").format(port=port)
        action = next((word for word in first[1:] if word in ("ALLOW", "DENY", "REJECT", "LIMIT")), "?")
        if action not in ("ALLOW", "LIMIT"):
            return _("the first ufw rule for port {port} is {action}: connections to it are refused").format(
                port=port, action=action)
    return None
