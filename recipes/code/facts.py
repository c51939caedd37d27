"""Host facts of code: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.i18n import translator

_ = translator(__file__)


@dataclass(frozen=True, eq=False)
class RemoteRef(Fact):
    """The commit a branch or tag names on the remote, read with `git ls-remote` as the app user."""

    repo: str
    ref: str
    user: str = field(compare=False)
    env: tuple[tuple[str, str], ...] = field(compare=False)

    kind = "remote-ref"

    def command(self) -> Command:
        # `$3^{}` too: a pattern matches the end of a ref name, so `v1.2` alone never lists `refs/tags/v1.2^{}`,
        # the commit an annotated tag points to (parse prefers it over the tag object's own id)
        env = dict(self.env)
        return sh('runuser -u "$1" -- env GIT_SSH_COMMAND="$4" GIT_TERMINAL_PROMPT=0 HOME="$5" '
                  'timeout 60 git ls-remote -- "$2" "$3" "$3^{}" 2>&1; echo "rc=$?"',
                  self.user, self.repo, self.ref, env["GIT_SSH_COMMAND"], env["HOME"])

    def fresh(self) -> dict[str, str | None]:
        return {"sha": "<commit>", "error": None}  # shown as releases/<commit> in previews

    def parse(self, out: str, status: int) -> dict[str, str | None]:
        lines = out.strip().splitlines()
        rc = lines[-1].removeprefix("rc=") if lines and lines[-1].startswith("rc=") else "1"
        body = lines[:-1]
        if rc != "0":
            return {"sha": None, "error": "\n".join(body[-5:]) or f"git ls-remote exit {rc}"}
        refs = dict(reversed(line.split("\t", 1)) for line in body if "\t" in line)
        for name in (f"refs/tags/{self.ref}^{{}}", f"refs/tags/{self.ref}", f"refs/heads/{self.ref}", self.ref):
            if name in refs:
                return {"sha": refs[name], "error": None}
        return {"sha": None, "error": _("no branch or tag named {ref}").format(ref=self.ref)}
