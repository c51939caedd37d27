"""Host facts of code: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.hostkeys import fingerprint_of
from wizard.engine.i18n import translator

_ = translator(__file__)

RefValue = dict[str, str | None]  # sha, error, and `unavailable`: why the server cannot ask (yet)
NO_SUCH_REF = "no-such-ref"  # the `reason` of an answer from a remote that was read and lacks the ref


def parse_ls_remote(out: str, ref: str) -> RefValue:
    lines = out.strip().splitlines()
    if lines and lines[0].startswith("unavailable="):
        return {"sha": None, "error": None, "unavailable": lines[0].removeprefix("unavailable=")}
    rc = lines[-1].removeprefix("rc=") if lines and lines[-1].startswith("rc=") else "1"
    body = lines[:-1]
    if rc != "0":
        return {"sha": None, "error": "\n".join(body[-5:]) or f"git ls-remote exit {rc}"}
    refs = dict(reversed(line.split("\t", 1)) for line in body if "\t" in line)
    for name in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}", ref):
        if name in refs:
            return {"sha": refs[name], "error": None}
    return {"sha": None, "error": _("no branch or tag named {ref}").format(ref=ref), "reason": NO_SUCH_REF}


@dataclass(frozen=True, eq=False)
class RemoteRef(Fact):
    """The commit a branch or tag names on the remote, read with `git ls-remote` as the app user.

    On a fresh server neither git nor the app user exists yet (earlier steps of the same recipe bring them):
    the answer then says so (`unavailable`), and a dry run reads the commit from here instead (RemoteRefHere).
    """

    repo: str
    ref: str
    user: str = field(compare=False)
    env: tuple[tuple[str, str], ...] = field(compare=False)
    # over SSH: (the git host as known_hosts names it, the app's known-hosts file); until that file holds the host's
    # key, git's ssh would refuse it, so the answer is `unavailable` (the step pins the key first)
    host_key: tuple[str, ...] = field(default=(), compare=False)

    kind = "remote-ref"

    def command(self) -> Command:
        # `$3^{}` too: a pattern matches the end of a ref name, so `v1.2` alone never lists `refs/tags/v1.2^{}`,
        # the commit an annotated tag points to (parse prefers it over the tag object's own id)
        env = dict(self.env)
        pattern, known = self.host_key or ("", "")
        return sh('command -v git >/dev/null 2>&1 || { echo unavailable=git; exit 0; }; '
                  'id -u "$1" >/dev/null 2>&1 || { echo unavailable=user; exit 0; }; '
                  '[ -z "$6" ] || ssh-keygen -F "$6" -f "$7" >/dev/null 2>&1 || { echo unavailable=hostkey; exit 0; }; '
                  'runuser -u "$1" -- env GIT_SSH_COMMAND="$4" GIT_TERMINAL_PROMPT=0 HOME="$5" '
                  'timeout 60 git ls-remote -- "$2" "$3" "$3^{}" 2>&1; echo "rc=$?"',
                  self.user, self.repo, self.ref, env["GIT_SSH_COMMAND"], env["HOME"], pattern, known)

    def fresh(self) -> RefValue:
        return {"sha": "<commit>", "error": None}  # shown as releases/<commit> in previews

    def parse(self, out: str, status: int) -> RefValue:
        return parse_ls_remote(out, self.ref)


@dataclass(frozen=True, eq=False)
class RemoteRefHere(Fact):
    """The same question asked on this machine, with its own git and credentials, never prompting: what a dry
    run on a fresh server plans the release from. Apply still reads the commit on the server."""

    repo: str
    ref: str

    kind = "remote-ref-here"
    root = False
    here = True

    def command(self) -> Command:
        return sh('command -v git >/dev/null 2>&1 || { echo "git is not installed here"; echo rc=127; exit 0; }; '
                  'GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=15" GIT_TERMINAL_PROMPT=0 '
                  'git ls-remote -- "$1" "$2" "$2^{}" 2>&1; echo "rc=$?"', self.repo, self.ref)

    def parse(self, out: str, status: int) -> RefValue:
        return parse_ls_remote(out, self.ref)


@dataclass(frozen=True, eq=False)
class ScannedHostKeys(Fact):
    """The SSH host keys the git host shows the server (`ssh-keyscan`, from the server: what git will meet)."""

    host: str
    port: int

    kind = "ssh-keyscan"

    def command(self) -> Command:
        return sh('command -v ssh-keyscan >/dev/null 2>&1 || { echo unavailable; exit 0; }; '
                  'ssh-keyscan -T 10 -p "$2" -- "$1" 2>/dev/null', self.host, str(self.port))

    def fresh(self) -> dict[str, object]:
        return {"unavailable": True, "keys": []}  # a server not set up yet (a preview, a runbook): read at run time

    def parse(self, out: str, status: int) -> dict[str, object]:
        lines = out.strip().splitlines()
        if lines == ["unavailable"]:
            return {"unavailable": True, "keys": []}
        keys = []
        for line in lines:
            fields = line.split()
            if len(fields) < 3 or line.startswith("#"):
                continue
            try:
                keys.append({"type": fields[1], "key": fields[2], "fingerprint": fingerprint_of(" ".join(fields[1:3]))})
            except (ValueError, ImportError):
                continue  # not a key line: ssh-keyscan's chatter
        return {"unavailable": False, "keys": keys}
