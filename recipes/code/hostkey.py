"""The git host's SSH key on the server: pinned, never accepted blindly.

Why: `StrictHostKeyChecking=accept-new` trusts whatever answers the first time the server talks to the git host,
and from then on the app's code comes from there. So git's ssh checks a known-hosts file of the app's own
(`/srv/APP/shared/ssh/known_hosts`, `StrictHostKeyChecking=yes`), and the key in it is either the one the recipe
pins (`repo_host_key: SHA256:...`, the fingerprint the git host publishes) or one the operator confirmed when the
server first met it (the run pauses and shows the fingerprint, and says how to pin it). A key the server sees that
differs from the pin stops the step. Repositories over https:// or git:// have no SSH key to pin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from recipes.code.facts import ScannedHostKeys
from recipes.shared.common import DirSpec
from wizard.engine.commands import sh
from wizard.engine.facts import FactValues, FileInfo
from wizard.engine.hostkeys import fingerprint_of, host_pattern
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Later, Ok, PlanError, WaitForOperator, file_change

_ = translator(__file__)

_SSH_URL = re.compile(r"^ssh://(?:[^@/]+@)?(\[[^\]/]+\]|[^:/\[\]]+)(?::(\d+))?/")
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?([^:/]+):(?!//)")
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def host_key_fingerprint(value: str) -> str:
    if not FINGERPRINT.fullmatch(value):
        raise ValueError(_("a host key is pinned as its SHA256 fingerprint, e.g. SHA256:abc... (43 characters after "
                           "SHA256:), as `ssh-keygen -lf` shows it and git hosts publish it"))
    return value


def ssh_host(repo: str) -> tuple[str, int] | None:
    """(host, port) a repository URL reaches over SSH; None for https://, git:// and the like."""
    match = _SSH_URL.match(repo)
    if match:
        return match.group(1).strip("[]"), int(match.group(2) or 22)
    if "://" in repo:
        return None
    match = _SCP_LIKE.match(repo)
    return (match.group(1), 22) if match else None


def known_hosts(ctx: Context) -> str:
    return f"{ctx.shared}/ssh/known_hosts"


def ssh_dir(ctx: Context) -> DirSpec:
    return DirSpec(f"{ctx.shared}/ssh", ctx.user, ctx.user, "700")


def ssh_command(ctx: Context) -> str:
    """git's ssh: never a question (BatchMode), and only the keys in the app's own known-hosts file."""
    return f"ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={known_hosts(ctx)}"


def _recorded(state: object, pattern: str) -> tuple[list[str], list[str]]:
    """(this host's lines, every other line) of the app's known-hosts file."""
    text = state.text() if state is not None else ""  # type: ignore[attr-defined]
    lines = [line for line in (text or "").splitlines() if line.strip()]
    mine = [line for line in lines if line.split(" ", 1)[0] == pattern]
    return mine, [line for line in lines if line not in mine]


def _fingerprints(lines: list[str]) -> set[str]:
    found = set()
    for line in lines:
        try:
            found.add(fingerprint_of(" ".join(line.split()[1:3])))
        except (ValueError, IndexError):
            found.add("?")  # a line that is no key: it matches no pin
    return found


def needs_scan(repo: str, pin: str | None, known: FactValues, ctx: Context) -> ScannedHostKeys | None:
    """The scan a plan needs: when the file does not hold the pinned key, or holds no key for the host at all."""
    where = ssh_host(repo)
    if where is None or FileInfo(known_hosts(ctx)) not in known:
        return None
    mine, _others = _recorded(known[FileInfo(known_hosts(ctx))], host_pattern(*where))
    recorded = _fingerprints(mine)
    if (pin and recorded != {pin}) or not recorded:
        return ScannedHostKeys(*where)
    return None


def plan(repo: str, pin: str | None, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Later]:
    """The git host's key in the app's known-hosts file: the pinned one, or the one the operator confirms."""
    where = ssh_host(repo)
    if where is None:
        return
    host, port = where
    pattern, path = host_pattern(host, port), known_hosts(ctx)
    state = facts[FileInfo(path)]
    mine, others = _recorded(state, pattern)
    recorded = _fingerprints(mine)
    if pin and recorded == {pin}:
        yield Ok(_("the git host {host} is checked against the pinned key {pin}").format(host=pattern, pin=pin))
        return
    if not pin and recorded:
        yield Ok(_("the git host key of {host} is on record ({fingerprints}); pin it in the recipe "
                   "(code.repo_host_key) so every server checks the same key").format(
                       host=pattern, fingerprints=", ".join(sorted(recorded))))
        return
    scanned = facts[ScannedHostKeys(host, port)]
    if scanned["unavailable"]:
        yield Later(_("keep the git host key of {host}").format(host=pattern),
                    _("read once the server has ssh-keyscan"))
        return
    keys = scanned["keys"]
    if not keys:
        raise PlanError(_("the server could not read the SSH host key of {host} (ssh-keyscan answered nothing): is the "
                          "git host reachable from the server?").format(host=pattern))
    if pin:
        chosen = next((key for key in keys if key["fingerprint"] == pin), None)
        if chosen is None:
            raise PlanError(_("the git host {host} presents {fingerprints} to the server, and none is the pinned key "
                              "{pin}. Stopped: this may be a different server or an attack. If the git host really "
                              "changed its key, check the new one where it publishes it and update "
                              "code.repo_host_key.").format(
                host=pattern, fingerprints=", ".join(k["fingerprint"] for k in keys), pin=pin))
    else:
        chosen = next((key for key in keys if key["type"] == "ssh-ed25519"), keys[0])
        yield WaitForOperator(_("confirm the git host's key"), _(
            "The git host {host} presents the SSH host key\n\n  {fingerprint} ({type})\n\nCompare it with the "
            "fingerprints {host} publishes (GitHub, GitLab and Bitbucket list them in their documentation). "
            "Confirm to keep it on this server; git then accepts no other key. To skip this question on every "
            "server, pin it in the recipe:\n\n  code.repo_host_key: {fingerprint}\n").format(
                host=pattern, fingerprint=chosen["fingerprint"], type=chosen["type"]),
            skip_if=sh('ssh-keygen -F "$1" -f "$2" >/dev/null', pattern, path))
    content = "\n".join([*others, f"{pattern} {chosen['type']} {chosen['key']}"]) + "\n"
    yield from file_change(_("keep the git host key of {host} ({fingerprint}) in {path}").format(
        host=pattern, fingerprint=chosen["fingerprint"], path=path), path, content, state, mode="0644",
        owner=ctx.user, group=ctx.user)
