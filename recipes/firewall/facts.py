"""Host facts of firewall: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.i18n import translator

_ = translator(__file__)


# Read directly, not through the ufw command (a Python program: two of them took most of a no-op's fact time).
# `ufw status` says active when its chains are loaded (iptables -L ufw-user-input/output/forward, and the ufw6-
# chains when IPv6 is on: each listing must succeed); `ufw show added` prints the "### tuple ###" lines of
# /etc/ufw/user.rules then user6.rules as commands (UfwState.parse does it as ufw's get_command does). One
# listing per family answers the three chain checks at once.
UFW_STATE = r"""
. /etc/default/ufw 2>/dev/null; echo "policy=${DEFAULT_INPUT_POLICY:-}"
command -v ufw >/dev/null 2>&1 || exit 0
v6=no; [ "$IPV6" = yes ] && [ -e /proc/sys/net/ipv6 ] && v6=yes
chains() { "$1" -n -L 2>/dev/null | grep -cE "^Chain $2-user-(input|output|forward) "; }
if [ "$(chains iptables ufw)" = 3 ] && { [ "$v6" = no ] || [ "$(chains ip6tables ufw6)" = 3 ]; }; then
  echo active=yes; else echo active=no; fi
sed -n "s/^### tuple ### */v4 /p" /etc/ufw/user.rules 2>/dev/null
[ "$v6" = no ] || sed -n "s/^### tuple ### */v6 /p" /etc/ufw/user6.rules 2>/dev/null
true
"""


class UfwState(Fact):
    kind = "ufw"

    def command(self) -> Command:
        return sh(UFW_STATE, display="ufw status; ufw show added; grep DEFAULT_INPUT_POLICY /etc/default/ufw")

    def fresh(self) -> dict[str, object]:
        return {"active": False, "rules": set(), "policy": "DROP"}

    def requires(self) -> tuple[str, ...]:
        return ("ufw",)

    def parse(self, out: str, status: int) -> dict[str, object]:
        lines = out.splitlines()
        added = [rule for line in lines if line[:3] in ("v4 ", "v6 ") and (rule := ufw_command(line[3:])) is not None]
        policy = next((line.split("=", 1)[1] for line in lines if line.startswith("policy=")), "")
        return {"active": "active=yes" in lines, "rules": set(added), "policy": policy}


@dataclass
class _Rule:
    """One "### tuple ###" line of ufw's user rules files, as ufw's _read_rules reads it."""

    action: str
    protocol: str
    dport: str
    dst: str
    sport: str
    src: str
    dapp: str = ""
    sapp: str = ""
    direction: str = "in"
    interface_in: str = ""
    interface_out: str = ""
    logtype: str = ""
    forward: bool = False
    comment: str = ""


def _read_tuple(text: str) -> _Rule | None:
    """A tuple's fields (action proto dport dst sport src [dapp sapp] [direction_iface]); None when ufw itself
    would skip it as malformed."""
    body, _sep, comment = text.partition(" comment=")
    words = body.split()
    if not 6 <= len(words) <= 9:
        return None
    action, forward = words[0], False
    if ":" in action:  # route:allow
        action, forward = action.split(":")[1], True
    verb, _sep, logtype = action.lower().partition("_")
    rule = _Rule(verb if verb in ("allow", "reject", "limit") else "deny", words[1].lower(), words[2],
                 words[3].lower(), words[4], words[5].lower(), logtype=logtype.lower(), forward=forward,
                 comment=comment.strip())
    if len(words) in (7, 9):
        last = words[-1]
        rule.direction = last.split("_")[0]
        for part in last.split("!") if "_" in last else ():
            kind, _sep, name = part.partition("_")
            if kind == "in":
                rule.interface_in = name
            elif kind == "out":
                rule.interface_out = name
    if len(words) >= 8:
        rule.dapp = "" if words[6] == "-" else words[6].replace("%20", " ")
        rule.sapp = "" if words[7] == "-" else words[7].replace("%20", " ")
    return rule


ANYWHERE = ("0.0.0.0/0", "::/0", "any")


def ufw_command(text: str) -> str | None:
    """The command `ufw show added` prints for one tuple (without "ufw "), as ufw's UFWCommandRule.get_command
    builds it: the short form for a rule about a port from anywhere, else the full from/to form."""
    r = _read_tuple(text)
    if r is None:
        return None
    res = r.action
    if (r.dst in ANYWHERE and r.src in ANYWHERE and r.sport == "any" and not r.sapp and not r.interface_in
            and not r.interface_out and r.dport != "any"):
        res += " out" if r.direction == "out" else ""
        res += f" {r.logtype}" if r.logtype else ""
        if r.dapp:
            res += f" '{r.dapp}'" if " " in r.dapp else f" {r.dapp}"
        else:
            res += f" {r.dport}" + (f"/{r.protocol}" if r.protocol != "any" else "")
    else:
        res += f" in on {r.interface_in}" if r.interface_in else ""
        res += f" out on {r.interface_out}" if r.interface_out else " out" if r.direction == "out" else ""
        res += f" {r.logtype}" if r.logtype else ""
        res += _ends(r)
        if " to " not in res and " from " not in res and not r.interface_in and not r.interface_out:
            res += " to any"  # a very generic rule: marked as the full form
        if r.protocol != "any" and not r.dapp and not r.sapp:
            res += f" proto {r.protocol}"
    if r.comment:
        res += f" comment '{_unhex(r.comment)}'"
    return ("route " if r.forward else "") + res


def _ends(r: _Rule) -> str:
    """The ` from ... to ...` part of the full form."""
    res = ""
    for way, loc, port, app in (("from", r.src, r.sport, r.sapp), ("to", r.dst, r.dport, r.dapp)):
        loc = "any" if loc in ANYWHERE else loc
        if loc != "any" or port != "any" or app:
            res += f" {way} {loc}"
            if app:
                res += f" app '{app}'" if " " in app else f" app {app}"
            elif port != "any":
                res += f" port {port}"
    return res


def _unhex(text: str) -> str:
    """ufw keeps comments hex-encoded; an odd length loses its last digit, as in ufw's hex_decode."""
    try:
        return binascii.unhexlify(text[:-1] if len(text) % 2 else text).decode("utf-8", "backslashreplace")
    except binascii.Error:
        return text


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
