"""deploy-wizard's own known_hosts: where it lives, and the fingerprints operators compare and pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.engine.hostkeys import HostKeyStore, config_dir, fingerprint_of


def test_the_store_lives_in_the_xdg_config_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert HostKeyStore().path == tmp_path / "config" / "deploy-wizard" / "known_hosts"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("XDG_CONFIG_HOME"), lambda: monkeypatch.setenv("XDG_CONFIG_HOME", "")):
        unset()
        assert config_dir() == tmp_path / "home" / ".config" / "deploy-wizard"


# `ssh-keygen -lf` of these keys: the fingerprints recipes pin (target.host_key) and operators compare
KEYS = {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6sDnGzBmz4+vkp5pZbLusKd2vB8yNDaomJ4YkuRk92 test@host":
        "SHA256:F/N1Uj+XrpUE+yZkpAOSfObejjg3VZt2+oIMPrXvDT0",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDZvuaJzxsWw6hcbtXNa0xwsm2SPzMunLioc30wLEc8zJs85StPJL93PpBwd9bVv5Cp1LX+"
    "yanIXCaH4H2dTEjiBohimF8UsKt06TkukZwHG3eDlvDtCV3OazB/GPTkUbBcfPQn5VHqvbjLZZ5/herPR25cGnVycJEEUBjLX4Yy7Q==":
        "SHA256:zWH0owN5SsBILnDPJCrnXUlBb23lPTM1WRt26M8ZCVM",
}


@pytest.mark.parametrize(("line", "expected"), KEYS.items())
def test_fingerprints_are_the_ones_ssh_keygen_shows(line: str, expected: str) -> None:
    assert fingerprint_of(line) == expected
    assert fingerprint_of(" ".join(line.split()[:2])) == expected  # the comment does not count


ED25519, RSA = KEYS


def _openssh_known_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    """A ~/.ssh/known_hosts in a temporary HOME: the store reads OpenSSH's file from there."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(text)
    monkeypatch.setenv("HOME", str(home))


def test_a_host_name_is_matched_in_known_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _openssh_known_hosts(monkeypatch, tmp_path, f"localhost {ED25519}\n[web1.example.com]:2222 {RSA}\n10.0.0.5 {RSA}\n")
    store = HostKeyStore()

    def fingerprints(host: str, addr: str | None, port: int) -> list[str]:
        return [key.get_fingerprint("sha256") for key in store.trusted_keys(host, addr, port)]  # type: ignore[attr-defined]

    # before connecting, the transport knows only the name, and passes it where asyncssh expects an address
    assert fingerprints("localhost", "localhost", 22) == [KEYS[ED25519]]
    assert fingerprints("localhost", None, 22) == [KEYS[ED25519]]
    assert fingerprints("web1.example.com", "web1.example.com", 2222) == [KEYS[RSA]]
    assert fingerprints("web2.example.com", "web2.example.com", 22) == []
    assert fingerprints("10.0.0.5", "10.0.0.5", 22) == [KEYS[RSA]]
    assert fingerprints("db.example.com", "10.0.0.5", 22) == [KEYS[RSA]]  # the address asyncssh connected to
    store.add("localhost", 22, RSA)  # our own store holds the name too: both files are read
    assert sorted(fingerprints("localhost", "localhost", 22)) == sorted([KEYS[ED25519], KEYS[RSA]])


def _hashed(name: str) -> str:
    """A name as `ssh-keygen -H` writes it (HMAC-SHA1 with a salt)."""
    import base64
    import hashlib
    import hmac

    salt = bytes(range(20))
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_the_index_finds_exactly_what_matching_every_line_finds(tmp_path: Path) -> None:
    """A fleet looks up only the lines that can name a host; the answer must be the one matching all lines gives."""
    from wizard.engine import hostkeys

    lines = [f"10.99.{i}.2 {ED25519}" for i in range(1, 40)] + [
        f"web1.example.com,10.0.0.5 {RSA}", f"[web2.example.com]:2222 {ED25519}", f"*.lab.test {RSA}",
        f"10.1.0.0/16 {ED25519}", f"{_hashed('db1.example.com')} {RSA}", f"@revoked 10.99.7.2 {RSA}",
        f"!bad.lab.test,*.lab.test {ED25519}", f"@cert-authority *.example.com {RSA}"]
    (tmp_path / "ours").write_text("\n".join(lines) + "\n")
    store = HostKeyStore(tmp_path / "ours", openssh_files=[])
    parsed = store._parsed(tmp_path / "ours")
    lookups = [("10.99.7.2", "10.99.7.2", 22), ("web1.example.com", "10.0.0.5", 22), ("web1.example.com", "", 22),
               ("10.0.0.5", "10.0.0.5", 22), ("web2.example.com", "", 2222), ("web2.example.com", "", 22),
               ("app.lab.test", "", 22), ("bad.lab.test", "", 22), ("x", "10.1.2.3", 22),
               ("db1.example.com", "", 22), ("nowhere", "192.0.2.1", 22), ("10.99.39.2", "10.99.39.2", 2200)]
    for host, addr, port in lookups:
        everything = [number for number, entry, _revoked in parsed.entries for _key in entry.match(host, addr, port)[0]]
        assert [k.line for k in store.known(host, addr, port)] == everything, (host, addr, port)
    assert {(k.line, k.revoked) for k in store.known("10.99.7.2", "10.99.7.2", 22)} == {(7, False), (45, True)}
    assert [k.line for k in store.known("db1.example.com", "", 22)] == [44]
    assert hostkeys._PARSED[tmp_path / "ours"] is parsed  # read once for every store of the process


def test_a_key_written_by_the_store_is_read_at_once_even_at_the_same_size(tmp_path: Path) -> None:
    """The parsed files are shared by every store of the process; the store's own writes never leave it stale."""
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDW2nbmTd6oIpANV9xe0MjR2Yg7oh0fBdz6E+q2XkSvj"
    store = HostKeyStore(tmp_path / "ours", openssh_files=[])
    store.add("10.99.1.2", 22, ED25519)
    assert {k.fingerprint for k in store.known("10.99.1.2", "10.99.1.2", 22)} == {KEYS[ED25519]}
    store.remove("10.99.1.2", 22)
    store.add("10.99.1.2", 22, other)  # the same length as the line before
    assert {k.fingerprint for k in HostKeyStore(tmp_path / "ours", openssh_files=[]).known(
        "10.99.1.2", "10.99.1.2", 22)} == {fingerprint_of(other)}
