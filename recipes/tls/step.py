"""Step tls: a certificate from an ACME CA (Let's Encrypt by default) through certbot, renewed automatically."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from recipes.shared import guards
from recipes.shared.apt import install_missing, started
from recipes.shared.facts import UnitProperties
from recipes.shared.web import ACME_ROOT, SiteOwner, cert_dir, site
from recipes.tls.facts import Certificate, Now, Resolves
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled, PathInfo
from wizard.engine.i18n import plural_translator, translator
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
    Warn,
    file_change,
    file_leaves,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import HostName

_ = translator(__file__)
n_ = plural_translator(__file__)
render = renderer(__file__)

STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
RENEW_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/50-deploy-wizard-reload-nginx"
PIP_CERTBOT = "/opt/certbot"
RENEW_BEFORE_DAYS = 30


def email_address(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$", value):
        raise ValueError(_("'{v}' is not an e-mail address").format(v=value))
    return value


def https_url(value: str) -> str:
    if not re.match(r"^https://[A-Za-z0-9.\-]+(:[0-9]+)?(/[A-Za-z0-9._~/\-]*)?$", value):
        raise ValueError(_("'{v}' is not an https:// URL of an ACME directory").format(v=value))
    return value


class TlsSettings(StepSettings):
    domain: HostName | None = Field(None, description=(
        "The certificate's main name (HTTP redirects to it); empty = nginx's first server name."))
    extra_domains: list[HostName] = Field(default_factory=list, description=(
        "More names on the same certificate; every name nginx serves the site under is on it anyway."))
    email: Annotated[str, AfterValidator(email_address)] = Field(description=(
        "Where the CA writes about expiring certificates and problems."))
    staging: bool = Field(False, description=(
        "Use Let's Encrypt's staging CA (untrusted certificates, generous limits) while trying things out."))
    acme_server: Annotated[str, AfterValidator(https_url)] | None = Field(None, description=(
        "Another ACME directory URL (a company CA, or a test CA); empty = Let's Encrypt."))
    installer: Literal["apt", "pip"] = Field("apt", description=(
        "'apt' uses Debian's certbot package; 'pip' installs the newest certbot into /opt/certbot."))
    preflight: bool = Field(True, description=(
        "Before asking the CA, prove that the domain reaches this server's port 80 and its nginx site."))


# -k: the check is the handshake for the name, not the chain (a staging certificate has none)
HTTPS_ANSWERS = ('c=$(curl -ks -o /dev/null -w "%{http_code}" --resolve "$1:443:127.0.0.1" "https://$1/"); '
                 '[ "$c" != 000 ] || { echo "https://$1/ gets no answer from nginx on this server" >&2; exit 1; }')


class Tls(Step):
    name = "tls"
    order = 900
    title = "HTTPS certificate"
    Settings = TlsSettings
    teaching = Teaching(
        why="HTTPS keeps passwords and cookies private and is expected by every browser. certbot proves to the "
            "CA that you control the domain by serving a token on port 80 (HTTP-01), stores the certificate "
            "under /etc/letsencrypt/live and renews it twice a day when it gets close to expiry; a hook reloads "
            "nginx after each renewal. A preflight check first proves the domain really reaches this server, so "
            "a typo does not burn the CA's rate limits.",
        verify=[Check("certbot certificates", root=True, when={"installer": "apt"}),
                Check(f"{PIP_CERTBOT}/bin/certbot certificates", root=True, when={"installer": "pip"}),
                Check("curl -sS -I --resolve DOMAIN:443:127.0.0.1 https://DOMAIN/",
                      note="the site over HTTPS, with a certificate curl trusts"),
                Check("systemctl list-timers --no-pager certbot.timer", when={"installer": "apt"},
                      note="when the next renewal check runs"),
                Check("systemctl list-timers --no-pager deploy-wizard-certbot.timer", when={"installer": "pip"},
                      note="when the next renewal check runs")],
        troubleshoot=[
            ("Timeout during connect (likely firewall problem)",
             "Port 80 is not reachable from the internet: open it (firewall step) and check the cloud firewall."),
            ("no valid A records found", "The domain does not resolve to this server yet; fix the DNS record."),
            ("too many certificates already issued", "Let's Encrypt's rate limit: use staging: true while testing."),
            ("curl: (60) SSL certificate problem: unable to get local issuer certificate",
             "The certificate comes from a CA this machine does not trust: expected with staging: true (staging "
             "certificates are for tests only); with another acme_server, the server must trust that CA."),
        ],
        goal="The site answers on https://DOMAIN with a valid certificate that renews itself.",
        section="4.3 Security configuration",
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, TlsSettings)
        return {"DOMAIN": self._domains(settings, ctx)[0]}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """A certificate for every name, good for more than RENEW_BEFORE_DAYS: got with `certbot --nginx` as the
        tutorial does, or any other way. How nginx serves it and the renewal hook only differ."""
        assert isinstance(settings, TlsSettings)
        domains = self._domains(settings, ctx)

        def valid(facts: FactValues) -> str | None:
            cert = facts[Certificate(domains[0])]
            if cert is None:
                return _("there is no certificate in /etc/letsencrypt/live/{name}").format(name=domains[0])
            days = int((datetime.fromisoformat(str(cert["expires"])).timestamp() - facts[Now()]) / 86400)
            missing = [d for d in domains if d not in cert["names"]]  # type: ignore[operator]
            if missing:
                return _("the certificate does not name {names}").format(names=", ".join(missing))
            if days <= RENEW_BEFORE_DAYS:
                return n_("the certificate ends in {n} day", "the certificate ends in {n} days", days).format(n=days)
            return None

        return [Meaning(_("a certificate for {names}, good for more than {days} days").format(
            names=", ".join(domains), days=RENEW_BEFORE_DAYS), (Certificate(domains[0]), Now()), valid)]

    def verify(self, s: TlsSettings, ctx: Context) -> list[RunCommand]:
        """After a change: nginx answers HTTPS for the domain on this server, so apply is done when a visitor
        gets the certificate. Asked once: the reload before it returns when nginx serves its new configuration
        (recipes/shared/nginx_reload). Any HTTP answer will do: the app behind it is the app_server step's."""
        domain = self._domains(s, ctx)[0]
        return [RunCommand(_("nginx answers https://{domain}/ on this server with its new site").format(domain=domain),
                           sh(HTTPS_ANSWERS, domain))]

    def _domains(self, s: TlsSettings, ctx: Context) -> list[str]:
        """The certificate's names: its main one first (its folder, where HTTP redirects), then every name nginx
        serves the site under, since the HTTPS site answers them all with this one certificate and a browser
        refuses any name it lacks, then the extra ones."""
        owner, nginx = self._site(ctx)
        names = owner.server_names(nginx)
        return list(dict.fromkeys([s.domain or names[0], *names, *s.extra_domains]))

    @staticmethod
    def _to_ask(domains: list[str], cert: object) -> list[str]:
        """The names the next certificate request adds: all before the first certificate, then those it lacks."""
        return domains if cert is None else [d for d in domains if d not in cert["names"]]  # type: ignore[index]

    def _site(self, ctx: Context) -> tuple[SiteOwner, StepSettings]:
        web = site(ctx)
        if web is None:
            raise PlanError(_("the tls step needs the nginx step (it serves the certificate challenge)"))
        return web

    def _certbot(self, s: TlsSettings) -> str:
        return f"{PIP_CERTBOT}/bin/certbot" if s.installer == "pip" else "certbot"

    def facts(self, s: TlsSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        domains = self._domains(s, ctx)
        yield PackagesInstalled(("certbot",)) if s.installer == "apt" else PathInfo(f"{PIP_CERTBOT}/bin/certbot")
        yield Certificate(domains[0])
        if s.preflight and Certificate(domains[0]) in known:  # only names the CA is to check: no DNS in a no-op
            yield from (Resolves(name) for name in self._to_ask(domains, known[Certificate(domains[0])]))
        yield Now()
        yield FileInfo(RENEW_HOOK)
        yield UnitProperties("certbot.timer" if s.installer == "apt" else "deploy-wizard-certbot.timer")
        if s.installer == "pip":
            yield FileInfo("/etc/systemd/system/deploy-wizard-certbot.service")
            yield FileInfo("/etc/systemd/system/deploy-wizard-certbot.timer")
        owner, _nginx = self._site(ctx)
        yield from owner.site_facts(ctx, known)

    def plan(self, s: TlsSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        domains = self._domains(s, ctx)
        if s.preflight:
            yield from self._unresolved(domains, self._to_ask(domains, facts[Certificate(domains[0])]), facts)
        if s.installer == "apt":
            # without Recommends: they add only python3-icu, parsedatetime's optional locales (certbot's renewal
            # intervals are English, which parsedatetime has built in)
            # early (wizard.engine.behind): certbot listens on nothing; its renewal timer finds nothing to renew
            # until this step gets the first certificate
            install = install_missing(("certbot",), facts[PackagesInstalled(("certbot",))], recommends=False,
                                      early=True, brings=started("certbot.timer"))  # Debian starts its timer
            if install:
                yield install
                # the install starts certbot.timer (`brings`): the next pass, after it, finds the timer running
                yield from self._plan_certificate(s, facts, ctx, domains)
                return
        elif facts[PathInfo(f"{PIP_CERTBOT}/bin/certbot")] is None:
            yield RunCommand(_("install certbot from PyPI into {path}, as certbot's own instructions do").format(
                path=PIP_CERTBOT), sh('python3 -m venv "$1" && "$1/bin/pip" install -q --disable-pip-version-check '
                                      'certbot', PIP_CERTBOT, display=f"python3 -m venv {PIP_CERTBOT} && "
                                      f"{PIP_CERTBOT}/bin/pip install certbot"),
                skip_if=guards.exists(f"{PIP_CERTBOT}/bin/certbot"))
        yield from self._plan_certificate(s, facts, ctx, domains)
        yield from file_change(_("reload nginx after every renewal"), RENEW_HOOK, render("certbot-renew-hook.j2"),
                               facts[FileInfo(RENEW_HOOK)], mode="0755")
        yield from self._plan_timer(s, facts)
        if facts[Certificate(domains[0])] is not None:
            owner, nginx = self._site(ctx)
            yield from owner.site_changes(nginx, facts, ctx)  # the same HTTPS site the nginx step renders

    def _plan_certificate(self, s: TlsSettings, facts: FactValues, ctx: Context,
                          domains: list[str]) -> Iterator[Change | Ok]:
        cert = facts[Certificate(domains[0])]
        if cert is not None:
            remaining = (datetime.fromisoformat(str(cert["expires"])).timestamp() - facts[Now()]) / 86400
            missing = [d for d in domains if d not in cert["names"]]  # type: ignore[operator]
            if remaining > RENEW_BEFORE_DAYS and not missing:
                yield Ok(n_("certificate for {names} is valid for {days} more day",
                            "certificate for {names} is valid for {days} more days", int(remaining)).format(
                    names=", ".join(domains), days=int(remaining)))
                return
        if s.preflight:
            yield RunCommand(_("preflight: {domain} resolves and its port 80 reaches this server's nginx").format(
                domain=domains[0]), self._preflight(domains[0]), skip_if=self._has_certificate(domains[0]))
        args = [self._certbot(s), "certonly", "--webroot", "-w", ACME_ROOT, "--non-interactive", "--agree-tos",
                "--email", s.email, "--no-eff-email", "--keep-until-expiring", "--expand", "--cert-name", domains[0]]
        if s.staging:
            args.append("--staging")
        if s.acme_server:
            args += ["--server", s.acme_server]
        for domain in domains:
            args += ["-d", domain]
        why = (_("ask the CA for a certificate for {names}") if cert is None else
               _("renew or extend the certificate for {names}")).format(names=", ".join(domains))
        expires = datetime.fromtimestamp(facts[Now()] + 90 * 86400, UTC).isoformat()  # what CAs issue today
        yield RunCommand(why, cmd(*args, env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}),
                         timeout=600, skip_if=self._has_certificate(domains[0]), leaves=(
                             (Certificate(domains[0]), {"expires": expires, "names": domains}),
                             *file_leaves(f"{cert_dir(domains[0])}/fullchain.pem", b"(issued by the CA)")))

    def _has_certificate(self, name: str) -> Command:
        """Replays only get a missing certificate; renewing one is certbot's timer's job."""
        return sh('[ -s "/etc/letsencrypt/live/$1/fullchain.pem" ]', name)

    @staticmethod
    def _unresolved(domains: list[str], asked: list[str], facts: FactValues) -> Iterator[Warn]:
        """Each name the CA is to check that the server cannot resolve yet, said before a run meets it: the first
        stops the preflight, another the CA's check of that name (certbot's error, after every step before it
        ran)."""
        for name in asked:
            if facts[Resolves(name)]:
                continue
            yield Warn(_("{d} does not resolve on the server yet: the certificate's preflight will stop the run "
                         "there").format(d=name) if name == domains[0] else
                       _("{d} does not resolve on the server yet: the CA will refuse the certificate for it").format(
                           d=name),
                       _("Give {d} an A (or AAAA) record that points at this server before you apply (for a test "
                         "server, a line in its /etc/hosts; a practice sandbox: `deploy-wizard sandbox up --lab "
                         "--domain {d}`)").format(d=name))

    def _preflight(self, domain: str) -> Command:
        """Its answers come in the operator's language and say what to do (arguments $3-$5: the script itself
        never changes): a name the server cannot resolve is the first thing a new site meets."""
        no_dns = _("{d} does not resolve (DNS) on the server: give it an A (or AAAA) record that points at this "
                   "server, then apply again (for a test server, a line in its /etc/hosts does it)").format(d=domain)
        elsewhere = _("http://{d}/ does not reach this server's nginx (port 80 closed, DNS pointing elsewhere, or "
                      "server_names missing {d})").format(d=domain)
        passed = _("preflight ok: {d} reaches this server on port 80").format(d=domain)
        return sh(
            'set -u; d="$1"; root="$2"; token="dw-preflight-$(date +%s)-$$"; '
            'if ! getent ahosts "$d" >/dev/null; then echo "deploy-wizard: $3"; exit 1; fi; '
            'mkdir -p "$root/.well-known/acme-challenge"; echo "$token" > "$root/.well-known/acme-challenge/$token"; '
            'got=$(curl -s -m 10 "http://$d/.well-known/acme-challenge/$token"); '
            'rm -f "$root/.well-known/acme-challenge/$token"; '
            'if [ "$got" != "$token" ]; then echo "deploy-wizard: $4"; exit 1; fi; '
            'echo "$5"', domain, ACME_ROOT, no_dns, elsewhere, passed,
            display=f"getent ahosts {domain} && curl http://{domain}/.well-known/acme-challenge/<token>")

    def _plan_timer(self, s: TlsSettings, facts: FactValues) -> Iterator[Change | Ok]:
        if s.installer == "apt":
            state = facts[UnitProperties("certbot.timer")]
            if state.get("UnitFileState") != "enabled" or state.get("ActiveState") != "active":
                yield RunCommand(_("run certbot's renewal timer"), cmd("systemctl", "enable", "--now", "certbot.timer"),
                                 skip_if=guards.unit_running("certbot.timer"))
            else:
                yield Ok(_("certbot.timer renews certificates twice a day"))
            return
        service = ("[Unit]\nDescription=certbot renewal (deploy-wizard)\n\n[Service]\nType=oneshot\n"
                   f"Environment=REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n"
                   f"ExecStart={PIP_CERTBOT}/bin/certbot renew -q\n")
        timer = ("[Unit]\nDescription=certbot renewal twice a day (deploy-wizard)\n\n[Timer]\n"
                 "OnCalendar=*-*-* 00,12:00:00\nRandomizedDelaySec=3600\nPersistent=true\n\n"
                 "[Install]\nWantedBy=timers.target\n")
        changed = False
        for path, content in (("/etc/systemd/system/deploy-wizard-certbot.service", service),
                              ("/etc/systemd/system/deploy-wizard-certbot.timer", timer)):
            for change in file_change(_("write {path}").format(path=path), path, content, facts[FileInfo(path)]):
                changed = changed or not isinstance(change, Ok)
                yield change
        state = facts[UnitProperties("deploy-wizard-certbot.timer")]
        if changed or state.get("ActiveState") != "active":
            yield RunCommand(_("run the renewal timer"), sh("systemctl daemon-reload && systemctl enable --now "
                                                            "deploy-wizard-certbot.timer"),
                             skip_if=guards.unit_running("deploy-wizard-certbot.timer"))
