"""Step firewall: ufw that lets in only SSH and the web, enabled without ever locking the operator out.

The lockout guard: the SSH port in use is allowed before anything else; before `ufw enable`, a systemd
timer is armed that turns the firewall off again after `revert_after` seconds; then a NEW SSH connection
must succeed, and only that disarms the timer. If the rules would lock us out, the server heals itself.
SSH hardening (no root login, no passwords) is written only after a key login as the app user is proven.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field

from recipes.firewall.facts import UfwState, ufw_blocks
from recipes.shared import guards
from recipes.shared.apt import install_missing, started
from recipes.shared.facts import UnitProperties
from recipes.shared.meanings import Probe
from wizard.engine.commands import cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    ProveLogin,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    file_change,
)
from wizard.engine.templates import renderer

# sshd takes the FIRST value it reads and reads drop-ins in name order: ours must sort before cloud images'
# own (50-cloud-init.conf sets PasswordAuthentication yes), or it would be silently ignored.

_ = translator(__file__)
render = renderer(__file__)

HARDENING = "/etc/ssh/sshd_config.d/01-deploy-wizard-hardening.conf"
JAIL = "/etc/fail2ban/jail.d/50-deploy-wizard.conf"
HARDENING_CHECK = sh('sshd -t && sshd -T | grep -qix "permitrootlogin no" && '
                     'sshd -T | grep -qix "passwordauthentication no"',
                     display="sshd -t && sshd -T | grep -Ei '^(permitrootlogin|passwordauthentication) '")
REVERT_UNIT = "deploy-wizard-ufw-revert"
UFW_ACTIVE = sh('ufw status | grep -q "^Status: active"')  # the guard of turning it on (exports)


def port_rule(value: str) -> str:
    match = re.match(r"^([0-9]{1,5})(/(tcp|udp))?$", value)
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ValueError(_("'{v}' is not a port like 8080 or 8080/tcp or 51820/udp").format(v=value))
    return value if match.group(2) else value + "/tcp"


PortRule = Annotated[str, AfterValidator(port_rule)]


class FirewallSettings(StepSettings):
    allow_http: bool = Field(True, description="Allow port 80 (HTTP; also needed for certificate challenges).")
    allow_https: bool = Field(True, description="Allow port 443 (HTTPS).")
    extra_ports: list[PortRule] = Field(default_factory=list, description="More ports to open, e.g. 8080/tcp.")
    revert_after: int = Field(120, ge=30, le=3600, description=(
        "Seconds after which the firewall turns itself off again unless a fresh SSH login proved it safe."))
    ssh_hardening: bool = Field(False, description=(
        "Refuse root logins and passwords over SSH (only after a key login as the app user is proven)."))
    fail2ban: bool = Field(False, description="Ban addresses that keep failing to log in.")


class Firewall(Step):
    name = "firewall"
    order = 1000
    title = "Firewall and SSH"
    Settings = FirewallSettings
    teaching = Teaching(
        why="A fresh server answers on every port any package opens. The firewall lets in only SSH and the web "
            "ports, so a database or metrics port can never be reached by accident. Enabling a firewall over SSH "
            "is the classic way to lock yourself out; the wizard allows your SSH port first, arms an automatic "
            "revert, and keeps the firewall only after a new SSH login worked.",
        verify=[Check("ufw status verbose", root=True),
                Check("ss -tlnp", root=True, note="what listens where: on every address only SSH and the web "
                                                  "ports, the rest on 127.0.0.1"),
                Check("sshd -T | grep -E '^(permitrootlogin|passwordauthentication) '", root=True,
                      when={"ssh_hardening": True}),
                Check("fail2ban-client status sshd", root=True, when={"fail2ban": True})],
        troubleshoot=[
            ("ssh: connect to host HOST port SSH_PORT: Connection timed out (after enabling ufw)",
             "The SSH port was not allowed. Wait for the automatic revert (revert_after seconds), then check "
             "`sudo ufw show added`. The cloud console also works."),
            ("ERROR: Couldn't determine iptables version", "The kernel lacks netfilter modules (some containers)."),
            ("Permission denied (publickey) after hardening",
             "Root and password logins are off: log in as USER with your key (ssh -p SSH_PORT USER@HOST)."),
        ],
        goal="Only SSH, HTTP and HTTPS reach the server; everything else is dropped.",
        section="4.3 Security configuration",
    )

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """ufw is on and lets each wanted port in: the first rule for a port decides, as in ufw itself, so a
        `deny 443` inserted above the allow rule blocks HTTPS although the allow rule is still there."""
        assert isinstance(settings, FirewallSettings)
        ports = [rule.split()[1].split("/")[0] for rule in self._rules(settings, ctx)]
        probe = Probe("ufw status")
        return [Meaning(_("ufw is active and lets in the ports {ports}").format(ports=", ".join(ports)), (probe,),
                        lambda facts: ufw_blocks(facts[probe].output, ports))]

    def _rules(self, s: FirewallSettings, ctx: Context) -> list[str]:
        rules = [f"allow {ctx.ssh_port}/tcp"]  # first, always: the port this very connection uses
        if s.allow_http:
            rules.append("allow 80/tcp")
        if s.allow_https:
            rules.append("allow 443/tcp")
        rules += [f"allow {port}" for port in s.extra_ports]
        return list(dict.fromkeys(rules))

    def _packages(self, s: FirewallSettings) -> tuple[str, ...]:
        # python3-systemd: fail2ban's journal backend (sshd logs only to the journal)
        return ("ufw", "fail2ban", "python3-systemd") if s.fail2ban else ("ufw",)

    def facts(self, s: FirewallSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield PackagesInstalled(self._packages(s))
        yield FileInfo(HARDENING)
        if s.fail2ban:
            yield UnitProperties("fail2ban.service")
            yield FileInfo(JAIL)
        if PackagesInstalled(self._packages(s)) in known and known[PackagesInstalled(self._packages(s))]["ufw"]:
            yield UfwState()

    def plan(self, s: FirewallSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        # ufw alone without Recommends: iptables recommends nftables' own command line, which ufw never runs. With
        # fail2ban they stay: python3-pyinotify, python3-setuptools and python3-pyasyncore come through them
        # early (wizard.engine.behind) only without fail2ban: installing ufw leaves it off (ENABLED=no) until this
        # step allows SSH and enables it; fail2ban starts at once with Debian's sshd jail and would ban before
        # this step configured it
        install = install_missing(self._packages(s), facts[PackagesInstalled(self._packages(s))],
                                  recommends=s.fail2ban, brings=started("fail2ban.service") if s.fail2ban else (),
                                  early=not s.fail2ban)
        if install:
            yield install
            return
        ufw = facts[UfwState()]
        for rule in self._rules(s, ctx):
            if rule not in ufw["rules"]:  # type: ignore[operator]
                yield RunCommand(_("firewall: {rule}").format(rule=rule), cmd("ufw", *rule.split()),
                                 skip_if=sh('ufw show added | grep -Fxq "ufw $1"', rule))
        if ufw["policy"] != "DROP":
            yield RunCommand(_("refuse every other incoming connection"), cmd("ufw", "default", "deny", "incoming"),
                             skip_if=sh("grep -q '^DEFAULT_INPUT_POLICY=\"DROP\"' /etc/default/ufw"))
        if not ufw["active"]:
            yield RunCommand(
                _("arm the automatic revert: the firewall turns itself off in {n} s unless a new login works").format(
                    n=s.revert_after),
                sh('systemctl stop "$1.timer" "$1.service" 2>/dev/null; systemctl reset-failed "$1" 2>/dev/null; '
                   'systemd-run --quiet --unit "$1" --on-active="$2" --timer-property=AccuracySec=1s '
                   '/usr/sbin/ufw --force disable', REVERT_UNIT, str(s.revert_after),
                   display=f"systemd-run --on-active={s.revert_after} ufw --force disable"), skip_if=UFW_ACTIVE)
            yield RunCommand(_("turn the firewall on"), cmd("ufw", "--force", "enable"), skip_if=UFW_ACTIVE)
            yield ProveLogin(_("prove that SSH still works through the firewall"), after_change=True,
                             if_failed=self._revert_note(s, ctx))
            yield RunCommand(_("disarm the automatic revert"), cmd("systemctl", "stop", f"{REVERT_UNIT}.timer"),
                             after_change=True)
        else:
            yield Ok(_("firewall is on: {rules}").format(rules=", ".join(self._rules(s, ctx))))
        if s.ssh_hardening:
            yield from self._plan_hardening(s, facts, ctx)
        if s.fail2ban:
            yield from self._plan_fail2ban(facts, ctx)

    def _revert_note(self, s: FirewallSettings, ctx: Context) -> str:
        """What a failed proof leaves behind, said with the failure: the revert armed just before the firewall went
        on is still armed, and turns it off by itself. Apply plans a step right before running it, so now plus
        revert_after is when it fires, to within the seconds the rules took."""
        fires = time.strftime("%H:%M:%S", time.localtime(time.time() + s.revert_after))
        return _("The automatic revert is armed: about {n} s after the firewall went on (at about {time}, this "
                 "machine's clock) it turns the firewall off again, and new SSH logins work again. Wait for it, "
                 "log in, check `ufw status` (is port {port}/tcp allowed?), then run apply again.").format(
                     n=s.revert_after, time=fires, port=ctx.ssh_port)

    def _plan_fail2ban(self, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        jail = list(file_change(_("fail2ban watches SSH logins in the journal (port {port})").format(
            port=ctx.ssh_port), JAIL, render("fail2ban-jail.conf.j2", ssh_port=ctx.ssh_port), facts[FileInfo(JAIL)],
            check=cmd("fail2ban-client", "-t")))
        yield from jail
        state = facts[UnitProperties("fail2ban.service")]
        if any(isinstance(change, PutFile) for change in jail):
            yield RunCommand(_("restart fail2ban to load it, and start it at every boot"),
                             cmd("sh", "-c", "systemctl enable fail2ban && systemctl restart fail2ban",
                                 display="systemctl enable fail2ban && systemctl restart fail2ban"),
                             after_change=True)
        elif state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled":
            yield RunCommand(_("start fail2ban now and at every boot"),
                             cmd("systemctl", "enable", "--now", "fail2ban"),
                             skip_if=guards.unit_running("fail2ban"))

    def verify(self, s: FirewallSettings, ctx: Context) -> list[RunCommand]:
        """fail2ban that runs but watches nothing protects nothing: its sshd jail must answer."""
        if not s.fail2ban:
            return []
        return [RunCommand(_("fail2ban's sshd jail is running"),
                           sh("for i in 1 2 3 4 5 6 7 8 9 10; do fail2ban-client status sshd && exit 0; sleep 1; "
                              "done; exit 1", display="fail2ban-client status sshd"))]

    def _plan_hardening(self, s: FirewallSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        if ctx.login_user == "root":  # the recipe's own next run could never log in again
            raise PlanError(_("ssh_hardening refuses root logins, and this recipe logs in as root: it would lock "
                              "itself out. Log in as {user} (with sudo) in target.user first, then turn on "
                              "ssh_hardening.").format(user=ctx.user))
        changes = list(file_change(_("SSH: no root logins, no passwords"), HARDENING,
                                   render("sshd-hardening.conf.j2", user=ctx.user), facts[FileInfo(HARDENING)],
                                   check=HARDENING_CHECK))
        if not any(isinstance(c, PutFile) for c in changes):
            yield from changes
            return
        content = render("sshd-hardening.conf.j2", user=ctx.user)
        yield ProveLogin(_("prove a key login as {user} works before passwords and root are refused").format(
            user=ctx.user), user=ctx.user, skip_if=guards.file_is(HARDENING, content))
        yield from changes
        yield RunCommand(_("reload sshd"), cmd("systemctl", "reload", "ssh"), after_change=True)
