"""The pinned uv's fetch, run as the server runs it (python3 -c, its arguments), against wheels on this disk.

Why not only a live test: the refusals (a wheel whose hash differs, a CPU with no pin, a download that fails)
are what keep root from running a file nobody checked, and PyPI never serves a wrong wheel on purpose."""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

from recipes.shared import uv

BINARY = b"#!/bin/sh\necho uv stand-in\n"


def wheel(path: Path, version: str = uv.VERSION) -> str:
    """A wheel laid out as uv's is (the binary under its .data/scripts); its SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(f"uv-{version}.dist-info/METADATA", "Name: uv\n")
        z.writestr(f"uv-{version}.data/scripts/uv", BINARY)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def fetch(dest: Path, pins: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """uv.fetch()'s own command, with these pins in place of PyPI's (the messages and the script unchanged)."""
    argv = list(uv.fetch().bits)
    at = argv.index(uv.BINARY)
    head = argv[:at] + [str(dest), uv.VERSION] + argv[at + 2:at + 5]
    assert head[:3] == ["python3", "-I", "-c"]  # isolated: nothing imported from root's working directory
    return subprocess.run([sys.executable, *head[1:], *pins], capture_output=True, text=True, timeout=60)


def test_a_wheel_with_the_pinned_hash_leaves_the_binary_root_can_run(tmp_path) -> None:
    sha = wheel(tmp_path / "uv.whl")
    dest = tmp_path / "opt" / "bin" / f"uv-{uv.VERSION}"
    done = fetch(dest, (platform.machine(), (tmp_path / "uv.whl").as_uri(), sha))
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == BINARY
    assert dest.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no temporary file left beside it


def test_a_wheel_whose_hash_differs_is_not_kept(tmp_path) -> None:
    wheel(tmp_path / "uv.whl")
    dest = tmp_path / "bin" / "uv"
    done = fetch(dest, (platform.machine(), (tmp_path / "uv.whl").as_uri(), "0" * 64))
    assert done.returncode == 1
    assert "does not have uv's pinned SHA-256" in done.stderr and "Traceback" not in done.stderr
    assert not dest.exists() and not dest.parent.exists()


def test_a_cpu_without_a_pin_and_a_failed_download_say_to_use_pip(tmp_path) -> None:
    sha = wheel(tmp_path / "uv.whl")
    other = fetch(tmp_path / "uv", ("some-other-cpu", (tmp_path / "uv.whl").as_uri(), sha))
    assert other.returncode == 1 and f"({platform.machine()}); set python.installer: pip" in other.stderr
    gone = fetch(tmp_path / "uv", (platform.machine(), (tmp_path / "absent.whl").as_uri(), sha))
    assert gone.returncode == 1 and "uv could not be fetched from" in gone.stderr
    assert "set python.installer: pip" in gone.stderr and "Traceback" not in gone.stderr
    assert not (tmp_path / "uv").exists()


def test_every_pin_names_pypis_wheel_of_this_version_for_its_cpu() -> None:
    for machine, url, sha in uv.WHEELS:
        assert url.startswith("https://files.pythonhosted.org/packages/")
        assert url.rsplit("/", 1)[1].startswith(f"uv-{uv.VERSION}-py3-none-manylinux") and machine in url
        assert len(sha) == 64 and int(sha, 16) >= 0
    assert uv.BINARY.endswith(f"uv-{uv.VERSION}")
