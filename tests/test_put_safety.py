"""As root, a file write never follows a path a less privileged user controls (issue 9): a symlink on the way
is refused, and a directory a user owns is written by that user, so a planted link cannot turn root's write
into a write anywhere. Runs the real put script through the local transport (root needed for runuser)."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.engine.transports.base import BACKUP_DIR
from wizard.engine.transports.local import LocalTransport

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                                reason="needs root and runuser to play both root and the app user")
USER = "nobody"


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A root-owned directory every user can reach (pytest's own tmp_path sits under a 0700 directory)."""
    base = Path(tempfile.mkdtemp(prefix="dw-put-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A directory the app user owns (like ~app/.ssh)."""
    owned = tmp_path / "home"
    owned.mkdir()
    os.chown(owned, pwd.getpwnam(USER).pw_uid, -1)
    return owned


async def transport() -> LocalTransport:
    local = LocalTransport()
    await local.connect()
    return local


async def test_a_symlink_on_the_way_is_refused(tmp_path: Path, user_dir: Path) -> None:
    elsewhere = tmp_path / "root-only"
    elsewhere.mkdir()
    (user_dir / ".ssh").symlink_to(elsewhere)  # what a hostile app user plants
    result = await (await transport()).put(b"ssh-ed25519 AAAA attacker\n", str(user_dir / ".ssh" / "authorized_keys"),
                                           mode="0600", owner=USER, group="nogroup")
    assert not result.ok and "is a symbolic link" in result.stderr
    assert not (elsewhere / "authorized_keys").exists()


async def test_a_file_in_a_users_directory_is_written_by_that_user(user_dir: Path) -> None:
    path = user_dir / "authorized_keys"
    path.symlink_to("/etc/hostname")  # a link in place of the file is replaced, never written through
    before = Path("/etc/hostname").read_bytes()
    result = await (await transport()).put(b"ssh-ed25519 AAAA ok\n", str(path), mode="0600", owner=USER,
                                           group="nogroup")
    assert result.ok, result.stderr
    assert not path.is_symlink() and path.read_bytes() == b"ssh-ed25519 AAAA ok\n"
    assert (path.stat().st_uid, oct(path.stat().st_mode & 0o777)) == (pwd.getpwnam(USER).pw_uid, "0o600")
    assert Path("/etc/hostname").read_bytes() == before
    Path(BACKUP_DIR, str(path).strip("/").replace("/", "%") + ".bak").unlink(missing_ok=True)


async def test_root_owned_files_are_not_written_into_a_users_directory(user_dir: Path) -> None:
    result = await (await transport()).put(b"x\n", str(user_dir / "root.conf"), mode="0644", owner="root",
                                           group="root")
    assert not result.ok and f"belongs to {USER}" in result.stderr
    assert not (user_dir / "root.conf").exists()


async def test_the_refusal_is_said_in_the_operators_language(tmp_path: Path, user_dir: Path) -> None:
    from wizard.engine.i18n import set_language

    (user_dir / "link").symlink_to(tmp_path)
    set_language("zh_CN")
    try:
        result = await (await transport()).put(b"x\n", str(user_dir / "link" / "100%.conf"), mode="0600",
                                               owner=USER, group="nogroup")
    finally:
        set_language("en")
    assert not result.ok
    assert f"deploy-wizard: 拒绝写入 {user_dir}/link/100%.conf：{user_dir}/link 是符号链接" in result.stderr
