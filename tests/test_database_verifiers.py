"""The password verifiers computed on the workstation (the plaintext never travels to the server)."""

from __future__ import annotations

from recipes.database.verifiers import mysql_native_hash, scram_matches, scram_verifier


def test_scram_verifier_round_trip_and_format() -> None:
    verifier = scram_verifier("s3cret/pass@word", salt=b"0123456789abcdef", iterations=4096)
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert scram_matches("s3cret/pass@word", verifier)
    assert not scram_matches("s3cret/pass@wore", verifier)
    assert not scram_matches("anything", None) and not scram_matches("x", "md5abcdef")


def test_scram_uses_a_fresh_salt_each_time() -> None:
    assert scram_verifier("same") != scram_verifier("same")


def test_mysql_native_hash_matches_the_known_value() -> None:
    # MariaDB: SELECT PASSWORD('password') -> *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19
    assert mysql_native_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
