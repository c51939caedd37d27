"""Step deploy_user: the account the app runs as and deploys with, never root."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, Field

from recipes.deploy_user.facts import NO_LOGIN_SHELLS, ShellListed, UserInfo, UserState
from recipes.shared import guards
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PathInfo
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    file_change,
)
from wizard.engine.validators import AbsolutePath, NewUserName, SSHPublicKey, UserName

_ = translator(__file__)


# Where the system keeps its own files: an account's home there (useradd --create-home, then its .ssh written
# as root) would mix the app's files into the system's, or fail halfway on a file that is already there
_SYSTEM_TREES = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                 "/libx32", "/run", "/tmp", "/var/tmp", "/var/log", "/var/cache", "/var/spool", "/root")


def home_path(value: str) -> str:
    if value.count("/") == 1 or any(value == top or value.startswith(top + "/") for top in _SYSTEM_TREES):
        raise ValueError(_("'{v}' is a system directory or lies in one; give the account a home of its own, "
                           "e.g. /home/NAME or /srv/NAME").format(v=value))
    return value


class DeployUserSettings(StepSettings):
    name: NewUserName = Field("deploy", description="Name of the account the app runs as.")
    home: Annotated[AbsolutePath, AfterValidator(home_path)] | None = Field(
        None, description="Home directory; empty = /home/<name>.")
    system: bool = Field(True, description="A system account (no password ageing, uid below 1000).")
    shell: AbsolutePath | None = Field(None, description=(
        "Login shell; empty = /bin/bash when keys are given (so you can log in), /usr/sbin/nologin otherwise."))
    groups: list[UserName] = Field(default_factory=list, description="Extra groups, e.g. www-data.")
    authorized_keys: list[SSHPublicKey] = Field(default_factory=list, description=(
        "Public keys allowed to log in as this user (kept beside any already there)."))

    def home_dir(self) -> str:
        return self.home or f"/home/{self.name}"

    def login_shell(self) -> str:
        return self.shell or ("/bin/bash" if self.authorized_keys else "/usr/sbin/nologin")


class DeployUser(Step):
    name = "deploy_user"
    order = 200
    title = "Deploy user"
    Settings = DeployUserSettings
    teaching = Teaching(
        why="The app should run as an ordinary account with just the rights it needs: if the app is broken into, "
            "the attacker gets that account, not root. A separate login for deployments (with your SSH key) "
            "also keeps a record of who changed what.",
        verify=[Check("id USER"),
                Check("getent passwd USER", note="the last two fields: its home directory and its login shell")],
        troubleshoot=[
            ("Permission denied (publickey) when logging in as USER",
             "The key must be in ~USER/.ssh/authorized_keys, the directory mode 700 and the file 600, both owned "
             "by USER; the shell must not be nologin (give authorized_keys in this step and it is /bin/bash)."),
            ("useradd: group 'X' does not exist",
             "Extra groups must exist first; packages create theirs (www-data comes with nginx)."),
        ],
        goal="An ordinary account USER exists for the app to run as, never root.",
        section="4.3 Security configuration",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """The account exists and is not root. Made with `adduser` (a home, a bash shell, no --system) it is as
        good: those flags differ from the recommended setup only. Its SSH keys, when asked for, matter."""
        assert isinstance(settings, DeployUserSettings)
        fact = UserInfo(settings.name)

        def exists(facts: FactValues) -> str | None:
            user = facts[fact]
            if user is None:
                return _("there is no account {name} (`getent passwd {name}` says nothing)").format(name=settings.name)
            if user.uid == 0:
                return _("{name} has uid 0: it is root under another name").format(name=settings.name)
            return None

        return [Meaning(_("the account {name} exists and is not root").format(name=settings.name), (fact,), exists,
                        covers=lambda change: "/.ssh" not in str(getattr(change, "why", "")))]

    def facts(self, settings: DeployUserSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield UserInfo(settings.name)
        if settings.shell and settings.shell not in NO_LOGIN_SHELLS:
            yield ShellListed(settings.shell)
        if settings.authorized_keys:
            # First round: guess the home from the settings, so a no-op costs one round trip; a second round
            # is needed only when the existing user lives elsewhere.
            home = self._home(settings, known) if UserInfo(settings.name) in known else settings.home_dir()
            yield PathInfo(f"{home}/.ssh")
            yield FileInfo(f"{home}/.ssh/authorized_keys")

    def _home(self, s: DeployUserSettings, facts: FactValues) -> str:
        user = facts[UserInfo(s.name)]
        return user.home if user else s.home_dir()

    def _check_shell(self, s: DeployUserSettings, facts: FactValues, ctx: Context) -> Iterator[Ok]:
        """PlanError for a chosen shell the server does not list in /etc/shells, unless this recipe's os_updates
        installs the package of that name (zsh, fish): a plan on a fresh server runs before the install."""
        if not s.shell or s.shell in NO_LOGIN_SHELLS or facts[ShellListed(s.shell)]:
            return
        package = PurePosixPath(s.shell).name
        if package in (getattr(ctx.settings("os_updates"), "packages", None) or []):
            yield Ok(_("the shell {shell} is listed in /etc/shells once os_updates installs {package}").format(
                shell=s.shell, package=package))
            return
        raise PlanError(_("deploy_user.shell: {shell} is not listed in the server's /etc/shells, so sshd and su "
                          "would refuse it as a login shell; install it first (add its package to "
                          "os_updates.packages) or choose one that `cat /etc/shells` lists").format(shell=s.shell))

    def plan(self, settings: DeployUserSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        s = settings
        yield from self._check_shell(s, facts, ctx)
        user = facts[UserInfo(s.name)]
        shell = s.login_shell()
        if user is None:
            args = ["useradd", "--create-home", "--home-dir", s.home_dir(), "--shell", shell, "--user-group"]
            if s.system:
                args.append("--system")
            if s.groups:
                args += ["--groups", ",".join(s.groups)]
            yield RunCommand(_("create the user {name} (home {home})").format(name=s.name, home=s.home_dir()),
                             cmd(*args, s.name), skip_if=guards.user_exists(s.name),
                             leaves=((UserInfo(s.name), UserState(s.name, -1, -1, s.home_dir(), shell,
                                                                  (s.name, *s.groups))),))
            group = s.name
        else:
            group = user.groups[0] if user.groups else s.name
            if user.shell != shell:
                yield RunCommand(_("change the login shell of {name} to {shell}").format(name=s.name, shell=shell),
                                 cmd("usermod", "--shell", shell, s.name),
                                 skip_if=sh('[ "$(getent passwd "$1" | cut -d: -f7)" = "$2" ]', s.name, shell))
            missing = [g for g in s.groups if g not in user.groups]
            if missing:
                yield RunCommand(_("add {name} to the groups {groups}").format(name=s.name, groups=", ".join(missing)),
                                 cmd("usermod", "--append", "--groups", ",".join(missing), s.name),
                                 skip_if=sh('u=$1; shift; for g; do id -nG "$u" | tr " " "\\n" | grep -qx "$g" '
                                            '|| exit 1; done', s.name, *missing))
            if s.home and user.home != s.home:
                yield Ok(_("{name} keeps its existing home {home} (homes are never moved)").format(
                    name=s.name, home=user.home))
            if user.shell == shell and not missing:
                yield Ok(_("user {name} exists").format(name=s.name))
        if s.authorized_keys:
            yield from self._plan_keys(s, facts, group)

    def _plan_keys(self, s: DeployUserSettings, facts: FactValues, group: str) -> Iterator[Change | Ok]:
        home = self._home(s, facts)
        ssh_dir = f"{home}/.ssh"
        path = f"{ssh_dir}/authorized_keys"
        dir_state = facts[PathInfo(ssh_dir)] if PathInfo(ssh_dir) in facts else None
        if dir_state is None or dir_state["mode"] != "700" or dir_state["owner"] != s.name:
            # as the user, in the user's own home: root never follows a path the user controls
            yield RunCommand(_("create {path} (mode 700, owned by {name})").format(path=ssh_dir, name=s.name),
                             cmd("install", "-d", "-m", "0700", ssh_dir, user=s.name),
                             skip_if=sh('[ -d "$1" ] && [ "$(stat -c "%a %U" "$1")" = "$2" ]', ssh_dir,
                                        f"700 {s.name}"))
        old = facts[FileInfo(path)] if FileInfo(path) in facts else None
        existing = [ln.strip() for ln in (old.text() or "").splitlines()] if old else []
        present = {" ".join(ln.split()[:2]) for ln in existing if ln and not ln.startswith("#")}
        lines = [ln for ln in existing if ln]
        lines += [key for key in s.authorized_keys if " ".join(key.split()[:2]) not in present]
        yield from file_change(_("allow the given SSH keys to log in as {name}").format(name=s.name), path,
                               "\n".join(lines) + "\n", old, mode="0600", owner=s.name, group=group)
