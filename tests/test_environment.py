"""Where it runs (tutorial 1.2): a LAN server's internal CA or no TLS, a cloud VM's provider firewall, containers."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from recipes.environment.step import Environment, EnvironmentSettings, ca_path
from wizard.app import registry
from wizard.app.recipefile import RecipeError, parse, with_overrides
from wizard.engine.facts import FactValues, FileInfo
from wizard.engine.step import Context, PlanError, PutFile, RunCommand, Warn

RECIPE = "version: 1\nname: app\ntarget: {host: 10.0.0.1}\nsteps:\n  environment: {kind: local}\n"


def certificate(path, *, ca: bool) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Internal CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


@pytest.mark.parametrize(("content", "words"), [
    (b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n", "is not a PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", "is not a readable certificate"),
])
def test_an_internal_ca_file_that_is_not_a_certificate_is_refused_naming_the_field(tmp_path, content, words):
    path = tmp_path / "ca.pem"
    path.write_bytes(content)
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(RECIPE), [f"environment.internal_ca={path}"])
    assert "environment.internal_ca" in str(info.value) and words in str(info.value)


def test_a_server_certificate_is_not_a_ca(tmp_path):
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(RECIPE), [f"environment.internal_ca={certificate(tmp_path / 'leaf.pem', ca=False)}"])
    assert "not a CA's" in str(info.value)


def plan(settings: EnvironmentSettings, others: dict | None = None, existing=None) -> list:
    others = {name: registry.step(name).Settings.model_validate(values) for name, values in (others or {}).items()}
    ctx = Context(app="app", others=others, steps={name: registry.step(name) for name in others})
    facts = FactValues({FileInfo(ca_path(ctx)).key: existing})
    return list(Environment().plan(settings, facts, ctx))


def test_local_server_installs_the_internal_ca_and_refuses_lets_encrypt(tmp_path):
    settings = EnvironmentSettings(kind="local", internal_ca=certificate(tmp_path / "ca.pem", ca=True))
    tls = {"email": "ops@example.test"}
    with pytest.raises(PlanError, match="Let's Encrypt cannot reach a server without public DNS"):
        plan(settings, {"nginx": {"server_names": ["a.lan"]}, "app_server": {}, "tls": tls})
    items = plan(settings, {"nginx": {"server_names": ["a.lan"]}, "app_server": {},
                            "tls": tls | {"acme_server": "https://ca.lan/acme/directory"}})
    assert [type(item) for item in items] == [PutFile, RunCommand]
    assert items[0].path == "/usr/local/share/ca-certificates/deploy-wizard-app.crt"
    assert items[1].command.shell().endswith("update-ca-certificates")


def test_local_server_without_tls_says_the_trade_off():
    [warn] = plan(EnvironmentSettings(kind="local"))
    assert isinstance(warn, Warn) and "readable by anyone" in warn.text


def test_cloud_vm_reminds_of_the_provider_firewall_and_container_offers_the_export():
    [cloud] = plan(EnvironmentSettings(kind="cloud"))
    assert "TCP 22, 80, 443" in cloud.text and "--format cloud-init" in cloud.fix
    [container] = plan(EnvironmentSettings(kind="container"))
    assert "--format container" in container.fix
