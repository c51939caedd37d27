"""Step environment: where the server runs (a LAN server, a cloud VM, a container platform), and what that changes.

Why a step: the kind of place decides what can work at all. A server without public DNS cannot get a Let's
Encrypt certificate, so it gets one from the operator's internal CA (whose root this step installs so certbot
and the app trust it) or no TLS, said plainly; a cloud VM sits behind the provider's own firewall, which ufw on
the server cannot open; a container platform runs images, not a provisioned server, so the recipe is written
out as a Containerfile and a compose file (`deploy-wizard export --format container`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Literal

from cryptography import x509
from pydantic import AfterValidator, Field

from recipes.environment.meanings import trusted_meaning
from wizard.engine.commands import cmd
from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.fsutil import UnreadableFile, read_text_file
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
    Warn,
    file_change,
)

_ = translator(__file__)

Kind = Literal["local", "cloud", "container"]
CA_DIR = "/usr/local/share/ca-certificates"
CA_LIMIT = 64 * 1024


def read_ca(path: str) -> str:
    """The PEM text of a CA certificate file on this machine; ValueError saying what is wrong with it."""
    try:
        text = read_text_file(Path(path).expanduser(), limit=CA_LIMIT)
    except UnreadableFile as exc:
        raise ValueError(_("cannot read {path}: {why}").format(path=path, why=exc)) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(_("{path} is not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); give the CA's "
                           "certificate, never its private key").format(path=path))
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
    except ValueError as exc:
        raise ValueError(_("{path} is not a readable certificate: {why}").format(path=path, why=exc)) from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ValueError(_("{path} is a certificate, but not a CA's (it cannot sign others): give the internal CA's "
                           "root certificate").format(path=path))
    return text


def ca_file(value: str) -> str:
    read_ca(value)
    return value


class EnvironmentSettings(StepSettings):
    kind: Kind = Field("cloud", description=(
        "'local': a server on your own network, no public DNS; 'cloud': a virtual machine at a provider; "
        "'container': a container platform (Docker, Podman, Kubernetes)."))
    internal_ca: Annotated[str, AfterValidator(ca_file)] | None = Field(None, description=(
        "With kind: local, your internal CA's root certificate (PEM file on this machine), installed on the server "
        "so it trusts certificates and an ACME server of that CA; empty = none."))


def ca_path(ctx: Context) -> str:
    return f"{CA_DIR}/deploy-wizard-{ctx.app}.crt"


class Environment(Step):
    name = "environment"
    order = 20
    title = "Where it runs"
    Settings = EnvironmentSettings
    teaching = Teaching(
        why="Where the server runs changes what works. A server on your own network (no public DNS) cannot get "
            "a Let's Encrypt certificate, because Let's Encrypt must reach it from the internet: it gets a "
            "certificate from your internal CA (its root is installed on the server, and the tls step asks your CA's "
            "ACME server), or no TLS at all, which is only acceptable where everyone on the network is trusted: "
            "passwords and cookies then cross it readable. A cloud VM also sits behind the provider's firewall "
            "(security group), which the server's own ufw cannot open: SSH, 80 and 443 must be allowed there too; "
            "its first boot can run the whole recipe (export --format cloud-init). On a container platform, the "
            "server is an image: `deploy-wizard export FILE --format container` writes a Containerfile (the same "
            "Python, requirements and gunicorn command, static files collected at build time, secrets only from the "
            "environment at run time) and a compose file with nginx in front and the database beside. Compose runs "
            "them on one machine; Kubernetes adds scheduling over many machines, scaling the app up and down, "
            "rolling updates and restarts across nodes, at the price of running a cluster. Move there when one "
            "server is not enough: more users than its workers can serve, or no downtime even for a reboot.",
        verify=[Check("ls -l /usr/local/share/ca-certificates/", when={"kind": "local"},
                      note="the internal CA's root, installed"),
                Check("curl -sSI https://DOMAIN/", when={"kind": "local"},
                      note="a certificate the server trusts through the internal CA"),
                Check("nc -zv SERVER 22 80 443", local=True, when={"kind": "cloud"},
                      note="the provider's firewall lets SSH and the web through"),
                Check("docker compose up --build", local=True, when={"kind": "container"},
                      note="in the exported directory: the app, nginx and the database")],
        troubleshoot=[
            ("certbot: 'Timeout during connect' on a LAN server",
             "Let's Encrypt cannot reach a server without public DNS: use your internal CA's ACME server "
             "(tls.acme_server) and its root (environment.internal_ca), or no TLS."),
            ("SSH or the site times out on a new cloud VM, though ufw allows it",
             "The provider's firewall (security group) blocks it: allow 22, 80 and 443 there."),
            ("curl: (60) SSL certificate problem: unable to get local issuer certificate",
             "This machine does not trust the internal CA: install its root here as well."),
        ],
    )

    def facts(self, settings: StepSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        assert isinstance(settings, EnvironmentSettings)
        if settings.kind == "local" and settings.internal_ca:
            yield FileInfo(ca_path(ctx))

    def plan(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        assert isinstance(settings, EnvironmentSettings)
        if settings.kind == "local":
            yield from self._local(settings, facts, ctx)
        elif settings.kind == "cloud":
            ports = ", ".join(dict.fromkeys([str(ctx.ssh_port), "22", "80", "443"]))
            yield Warn(_("a cloud VM: the provider's firewall (security group) must allow TCP {ports}; the server's "
                         "own firewall cannot open it").format(ports=ports),
                       _("allow them in the provider's console; `deploy-wizard export FILE --format cloud-init "
                         "--record-on sandbox` gives user-data that runs this recipe on the VM's first boot"))
        else:
            yield Warn(_("a container platform: this recipe provisions a server; the platform runs images"),
                       _("`deploy-wizard export FILE --format container -o DIR` writes a Containerfile and a "
                         "compose file for the same app"))

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, EnvironmentSettings)
        if settings.kind != "local" or not settings.internal_ca:
            return []  # cloud and container only advise: nothing on the server to hold
        pem = read_ca(settings.internal_ca)
        subject = x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()
        return [trusted_meaning(pem, subject)]

    def _local(self, s: EnvironmentSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        tls = ctx.settings("tls")
        if tls is not None and getattr(tls, "acme_server", None) is None:
            raise PlanError(_("environment.kind is local, and Let's Encrypt cannot reach a server without public DNS: "
                              "set tls.acme_server to your internal CA's ACME directory (and environment.internal_ca "
                              "to its root certificate), or leave the tls step out"))
        if tls is None:
            yield Warn(_("no TLS on this LAN server: passwords and cookies cross the network readable by anyone on "
                         "it"), _("acceptable only where everyone on the network is trusted; otherwise add the tls "
                                  "step with your internal CA (tls.acme_server, environment.internal_ca)"))
        if not s.internal_ca:
            return
        path = ca_path(ctx)
        written = list(file_change(_("install the internal CA's root certificate"), path, read_ca(s.internal_ca),
                                   facts[FileInfo(path)]))
        yield from written
        if any(isinstance(item, Change) for item in written):
            yield RunCommand(_("add it to the server's trusted CAs"), cmd("update-ca-certificates"), after_change=True)
