"""The tls step's preflight says, in the operator's language, what is wrong and what to do.

Why: a name the server cannot resolve is the first thing a new site meets (a new operator's own domain on a
practice server did), and the answer used to be English in a Chinese run, with no hint of the fix. The real
script runs here in bash, with stand-ins for getent and curl on PATH: what is checked is its logic and words.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wizard.app import registry
from wizard.engine import i18n


def run_preflight(tmp_path: Path, resolves: bool, answers: bool) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "getent").write_text(f"#!/bin/sh\nexit {0 if resolves else 2}\n")
    # curl answers with the token the script wrote (the site reaches this server) or with a stranger's page
    (bin_dir / "curl").write_text('#!/bin/sh\nfor a; do url="$a"; done\n'
                                  + ('cat "$ROOT/.well-known/acme-challenge/${url##*/}"\n' if answers
                                     else 'echo "<html>another server</html>"\n'))
    for tool in ("getent", "curl"):
        (bin_dir / tool).chmod(0o755)
    root = tmp_path / "acme"
    command = registry.step("tls")._preflight("books.example.test")
    script = command.shell().replace("/var/www/letsencrypt", str(root))
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin", "ROOT": str(root)})


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_a_name_that_does_not_resolve_says_so_and_what_to_do(tmp_path: Path, language: str) -> None:
    i18n.set_language(language)
    try:
        done = run_preflight(tmp_path, resolves=False, answers=False)
    finally:
        i18n.set_language("en")
    assert done.returncode == 1
    if language == "en":
        assert done.stdout.startswith("deploy-wizard: books.example.test does not resolve (DNS) on the server: give "
                                      "it an A (or AAAA) record that points at this server")
    else:
        assert done.stdout.startswith("deploy-wizard: books.example.test 在服务器上无法解析（DNS）："
                                      "为它添加指向本服务器的 A")


def test_a_name_that_reaches_another_server_is_refused_and_one_that_reaches_this_one_passes(tmp_path: Path) -> None:
    elsewhere = run_preflight(tmp_path / "a", resolves=True, answers=False)
    assert elsewhere.returncode == 1
    assert "http://books.example.test/ does not reach this server's nginx" in elsewhere.stdout
    here = run_preflight(tmp_path / "b", resolves=True, answers=True)
    assert (here.returncode, here.stdout.strip()) == (
        0, "preflight ok: books.example.test reaches this server on port 80")
