"""git on the server checks the git host against a pinned key (recipes/code/hostkey.py): never accept-new."""

from __future__ import annotations

import pytest

from recipes.code.hostkey import ssh_host
from recipes.code.step import CodeSettings, git_env
from wizard.app import registry
from wizard.app.recipefile import RecipeError, parse
from wizard.engine.step import Context

CTX = Context(app="shop", user="shop")


@pytest.mark.parametrize("use_key", [False, True])
def test_git_never_accepts_a_new_host_key(use_key: bool) -> None:
    ssh = git_env(CTX, use_key)["GIT_SSH_COMMAND"]
    assert "accept-new" not in ssh and "StrictHostKeyChecking=no" not in ssh
    assert "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/srv/shop/shared/ssh/known_hosts" in ssh
    assert ("-i /srv/shop/shared/ssh/deploy_key" in ssh) is use_key


@pytest.mark.parametrize(("repo", "where"), [
    ("git@github.com:acme/shop.git", ("github.com", 22)),
    ("github.com:acme/shop.git", ("github.com", 22)),
    ("ssh://git@git.example.com:2222/acme/shop.git", ("git.example.com", 2222)),
    ("ssh://git.example.com/acme/shop.git", ("git.example.com", 22)),
    ("git@127.0.0.1:/srv/git/shop.git", ("127.0.0.1", 22)),
    ("https://github.com/acme/shop.git", None),
    ("git://10.99.1.1/demo.git", None),
])
def test_the_ssh_host_of_a_repository(repo: str, where: tuple[str, int] | None) -> None:
    assert ssh_host(repo) == where


def test_the_remote_ref_is_not_read_until_the_host_key_is_on_record() -> None:
    """Without the key in the app's file, git's ssh would refuse: the fact says `unavailable` instead of failing."""
    code = registry.step("code")
    settings = CodeSettings(repo="ssh://git@git.example.com:2222/acme/shop.git")
    fact = code._ref_fact(settings, CTX)
    line = fact.command().shell()
    assert "ssh-keygen -F \"$6\" -f \"$7\"" in line and "echo unavailable=hostkey" in line
    assert line.endswith("'[git.example.com]:2222' /srv/shop/shared/ssh/known_hosts")
    https = code._ref_fact(CodeSettings(repo="https://github.com/acme/shop.git"), CTX).command().shell()
    assert https.endswith(" '' ''")  # nothing to check over https


@pytest.mark.parametrize("bad", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
                                 "SHA256:short", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"])
def test_repo_host_key_is_a_sha256_fingerprint(bad: str) -> None:
    with pytest.raises(RecipeError) as info:
        parse(f"version: 1\nname: shop\ntarget: {{host: web1}}\nsteps:\n  code: {{repo: 'git@github.com:a/b.git', "
              f"repo_host_key: '{bad}'}}\n")
    assert info.value.exit_code == 2
    assert "steps.code.repo_host_key: a host key is pinned as its SHA256 fingerprint" in str(info.value)
