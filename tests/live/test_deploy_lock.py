"""Issue 15, item 3, live: the deploy lock between machines. A second controller, on another machine (its own
network and host name: a Linux namespace pair), holds the lock and is killed with -9; a third controller sees
who held it, refuses with exit 4, breaks it after naming the holder, and a lock nobody breaks frees itself.
And 20 controllers racing for one lock over 20 SSH connections: exactly one wins."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.live.conftest import cli, on_box, write_recipe
from wizard.app.deploylock import LockHeld, deploy_lock
from wizard.app.recipefile import parse
from wizard.app.session import Questions, make_transport
from wizard.engine.commands import Masker

STEPS = "  os_updates:\n    upgrade: none\n    packages: [tree]\n"
HOLD_DPKG = ("nohup python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); "
             "fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(600)' >/dev/null 2>&1 & echo $!")


def sh(command: str) -> None:
    subprocess.run(["sh", "-ec", command], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def other_machine(box) -> Iterator[str]:
    """A network namespace routed to the sandbox through this machine: a controller started in it (with its own
    host name, see `elsewhere`) is, for the server, another machine."""
    name = "dwc" + secrets.token_hex(3)
    near, far = f"{name}a", f"{name}b"
    subnet = "10.254.7"
    sh(f"ip netns add {name}; ip link add {near} type veth peer name {far}; ip link set {far} netns {name}; "
       f"ip addr add {subnet}.1/30 dev {near}; ip link set {near} up; "
       f"ip -n {name} addr add {subnet}.2/30 dev {far}; ip -n {name} link set {far} up; "
       f"ip -n {name} link set lo up; ip -n {name} route add default via {subnet}.1; "
       "sysctl -qw net.ipv4.ip_forward=1; "
       f"iptables -t nat -A POSTROUTING -s {subnet}.2 -j MASQUERADE")
    try:
        yield name
    finally:
        subprocess.run(["iptables", "-t", "nat", "-D", "POSTROUTING", "-s", f"{subnet}.2", "-j", "MASQUERADE"])
        subprocess.run(["ip", "link", "del", near])
        subprocess.run(["ip", "netns", "del", name])


def elsewhere(netns: str, live_dirs, *args: str) -> subprocess.Popen[str]:
    """`deploy-wizard ARGS` run from the other machine: its own network and its own host name (ctl-far)."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "far"),
           "DEPLOY_WIZARD_LANG": "en", "DEPLOY_WIZARD_OPERATOR": "far-operator"}
    return subprocess.Popen(["ip", "netns", "exec", netns, "unshare", "--uts", "sh", "-c",
                             'hostname ctl-far && exec "$@"', "sh", sys.executable, "-m", "wizard", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def held_by_far(box, live_dirs, other_machine, recipe) -> None:
    """Start an apply on the other machine that holds the lock (it waits for the dpkg lock), then kill it -9."""
    far = elsewhere(other_machine, live_dirs, "apply", str(recipe), "--yes", "--json")
    deadline = time.monotonic() + 120
    for line in far.stdout:  # type: ignore[union-attr]
        if "waiting for the package manager lock" in line:
            break
        assert time.monotonic() < deadline, "the far controller never reached the dpkg wait"
    else:
        pytest.fail("the far controller ended before it held the lock")
    os.kill(far.pid, signal.SIGKILL)
    far.wait(10)


def test_a_killed_controller_elsewhere_is_named_and_its_lock_broken_or_outlived(box, live_dirs,
                                                                                 other_machine) -> None:
    recipe = write_recipe(live_dirs / "lock.yaml", box, STEPS)
    dpkg = on_box(box, HOLD_DPKG).stdout.strip()
    try:
        held_by_far(box, live_dirs, other_machine, recipe)
        refused = cli(live_dirs, "apply", str(recipe), "--yes")
        assert refused.returncode == 4, refused.stdout[-2000:] + refused.stderr[-2000:]
        said = refused.stdout + refused.stderr
        assert "far-operator" in said and "ctl-far" in said  # who held it, and from which machine
        broken = cli(live_dirs, "unlock", str(recipe), "--yes")
        assert broken.returncode == 0, broken.stdout + broken.stderr
        assert "far-operator" in broken.stdout + broken.stderr
        # again, and this time nobody breaks it: the holder's heartbeat stops, and the lock frees itself
        held_by_far(box, live_dirs, other_machine, recipe)
        assert cli(live_dirs, "apply", str(recipe), "--yes").returncode == 4
    finally:
        on_box(box, f"kill {dpkg}")
    waited = cli(live_dirs, "apply", str(recipe), "--yes", "--json", "--lock-wait", "90")
    assert waited.returncode == 0, waited.stdout[-3000:] + waited.stderr[-2000:]
    assert on_box(box, "tree --version").returncode == 0


def test_twenty_controllers_racing_for_one_lock_leave_exactly_one_winner(box, live_dirs, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(live_dirs / "config"))
    recipe = parse(f"version: 1\nname: race\ntarget: {{host: {box.ip}, user: admin, key: '{box.key}', "
                   f"host_key: '{box.fingerprint}'}}\nsteps: {{}}\n")
    ready = asyncio.Barrier(20)  # every connection open before anyone tries
    dialing = asyncio.Semaphore(5)  # sshd drops logins beyond MaxStartups (10) in progress at once

    async def contender() -> bool:
        transport = make_transport(recipe, Questions(), Masker())
        async with dialing:
            await transport.connect()
        try:
            await ready.wait()
            try:
                async with deploy_lock(transport, "race"):
                    await asyncio.sleep(8)  # held while every other contender tries
                    return True
            except LockHeld:
                return False
        finally:
            await transport.close()

    async def race() -> list[bool]:
        return await asyncio.gather(*(contender() for _ in range(20)))

    won = asyncio.run(race())
    assert sum(won) == 1, won
