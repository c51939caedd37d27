"""Host facts of deploy_user: what its plan reads from the server (parse cases: tests/cases/facts/)."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact


@dataclass(frozen=True)
class UserState:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    groups: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class UserInfo(Fact):
    name: str

    kind = "user"

    def command(self) -> Command:
        return sh('getent passwd "$1" && id -nG "$1" || echo absent', self.name)

    def parse(self, out: str, status: int) -> UserState | None:
        lines = out.splitlines()
        if not lines or lines[0] == "absent" or len(lines) < 2:
            return None
        fields = lines[0].split(":")
        return UserState(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6], tuple(lines[1].split()))


# Shells that refuse a login on purpose: never listed in /etc/shells, and meant not to be
NO_LOGIN_SHELLS = frozenset({"/usr/sbin/nologin", "/sbin/nologin", "/usr/bin/false", "/bin/false"})
# /etc/shells of a fresh Debian 13 (base-files, bash and dash list themselves)
FRESH_SHELLS = frozenset({"/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/rbash", "/usr/bin/rbash",
                          "/bin/dash", "/usr/bin/dash"})


@dataclass(frozen=True, eq=False)
class ShellListed(Fact):
    """Whether a login shell is listed in the server's /etc/shells. Why ask: sshd, su, chsh and PAM's
    pam_shells treat a shell missing there as no valid shell, so an account given one cannot log in, and a
    typo (/bin/bsah) would leave the deploy user locked out without a word from useradd."""

    shell: str

    kind = "shell"

    def command(self) -> Command:
        return sh('grep -qxF -- "$1" /etc/shells 2>/dev/null && echo yes || echo no', self.shell)

    def fresh(self) -> bool:
        return self.shell in FRESH_SHELLS

    def parse(self, out: str, status: int) -> bool:
        return out.strip() == "yes"
