"""The firewall's lockout guard, live: a non-default SSH port stays open, and a rule set that would lock the
operator out is undone by the armed revert timer."""

from __future__ import annotations

import socket
import subprocess
import time

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from wizard.engine.hostkeys import HostKeyStore


def reachable(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=3) as sock:
            sock.settimeout(3)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def test_nondefault_ssh_port_is_allowed_first_and_22_is_closed(box, live_dirs) -> None:
    setup = on_box(box, "printf 'Port 22\\nPort 2222\\n' > /etc/ssh/sshd_config.d/20-ports.conf && "
                        "systemctl restart ssh && echo ok")
    assert setup.stdout.strip() == "ok"
    time.sleep(1)
    recipe = write_recipe(live_dirs / "fw.yaml", box, "  firewall:\n    revert_after: 60\n",
                          extra_target="  port: 2222\n")
    HostKeyStore(live_dirs / "config" / "deploy-wizard" / "known_hosts").add(box.ip, 2222, box.host_key)
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert result.returncode == 0 and finished(result)["ok"], result.stdout[-3000:]
    described = [e["description"] for e in events(result) if e["event"] == "change_started"]
    assert described.index("ufw allow 2222/tcp") < described.index("ufw --force enable")
    assert "prove a fresh SSH login works" in described
    assert reachable(box.ip, 2222)
    assert not reachable(box.ip, 22)  # not the port in use, so not opened
    assert "Status: active" in on_box_port(box, 2222, "ufw status")
    second = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert finished(second)["changes"] == 0


# Rules of every shape `ufw show added` prints (short and full forms, apps, logging, interfaces, routes, IPv6
# only, comments), added with ufw itself: the plan reads them from ufw's files without ufw, and must read the same.
HAND_RULES = ("limit 2200/tcp comment 'rate limited'", "allow from 10.0.0.0/8 to any port 5432 proto tcp",
              "allow 51820/udp", "allow 8080", "allow OpenSSH", "allow out log 25/tcp", "deny from 203.0.113.7",
              "allow in on eth1 to any port 9100 proto tcp", "reject log-all 53/udp comment 'no DNS'",
              "route allow in on eth0 out on eth1", "allow from 2001:db8::/32 to any port 443 proto tcp",
              "deny out to 198.51.100.0/24 port 25 proto tcp")


def test_the_plan_reads_ufw_state_as_ufw_itself_says_it(box, live_dirs) -> None:
    """recipes/firewall/facts.py reads ufw's chains and rules files directly (the ufw program is a slow Python
    start): on the server, active or not and every added rule must be what `ufw status` and `ufw show added` say."""
    from recipes.firewall.facts import UfwState

    fact = UfwState()

    def both() -> tuple[dict[str, object], dict[str, object]]:
        ours = fact.parse(on_box_port(box, 2222, fact.command().shell()), 0)
        said = on_box_port(box, 2222, "ufw status | head -n1; ufw show added")
        return ours, {"active": said.splitlines()[0] == "Status: active",
                      "rules": {line[4:] for line in said.splitlines() if line.startswith("ufw ")}}

    added = on_box_port(box, 2222, "; ".join(f"ufw {rule} >/dev/null" for rule in HAND_RULES) + "; echo done")
    assert added.strip() == "done"
    try:
        ours, said = both()
        assert set(HAND_RULES) <= said["rules"]  # type: ignore[operator]
        assert (ours["active"], ours["rules"]) == (True, said["rules"])
        on_box_port(box, 2222, "ufw --force disable")
        ours, said = both()
        assert (ours["active"], ours["rules"]) == (False, said["rules"])
    finally:
        deletes = (f"route delete {rule[6:]}" if rule.startswith("route ") else f"delete {rule}" for rule in HAND_RULES)
        on_box_port(box, 2222, "; ".join(f"ufw {delete} >/dev/null" for delete in deletes) + "; ufw --force enable")


def on_box_port(box, port: int, command: str) -> str:
    return subprocess.run(sandbox_ssh(box, "root", port, command), capture_output=True, text=True,
                          timeout=60).stdout


def test_a_lockout_is_undone_by_the_revert_timer(box, live_dirs) -> None:
    # a rule that blocks this machine, ahead of ours: enabling ufw would lock the operator out
    out = on_box_port(box, 2222, f"ufw --force disable && ufw insert 1 deny from {box.host_ip} && ufw status")
    assert "Status: inactive" in out
    recipe = write_recipe(live_dirs / "fw2.yaml", box, "  firewall:\n    revert_after: 30\n",
                          extra_target="  port: 2222\n")
    started = time.monotonic()
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert result.returncode == 1
    failed = [e for e in events(result) if e["event"] == "step_failed"]
    assert failed and "fresh SSH login" in failed[0]["error"]
    assert not reachable(box.ip, 2222)  # locked out for now...
    while time.monotonic() - started < 90 and not reachable(box.ip, 2222):
        time.sleep(2)
    assert reachable(box.ip, 2222), "the revert timer did not turn the firewall off"
    assert "Status: inactive" in on_box_port(box, 2222, "ufw status")


def test_ssh_hardening_only_after_a_proven_key_login(box, live_dirs) -> None:
    """Runs last in this module: afterwards root can no longer log in over SSH."""
    pub = open(box.key + ".pub").read().strip()
    on_box_port(box, 2222, "ufw --force disable >/dev/null; ufw delete deny from " + box.host_ip + " >/dev/null; "
                            "ufw --force enable >/dev/null")
    without_key = write_recipe(live_dirs / "harden1.yaml", box, "  deploy_user:\n    name: web\n"
                               "  firewall:\n    ssh_hardening: true\n", extra_target="  port: 2222\n")
    refused = cli(live_dirs, "apply", str(without_key), "--yes", "--json")
    assert refused.returncode == 1
    failed = [e for e in events(refused) if e["event"] == "step_failed"]
    assert failed[0]["step"] == "firewall" and "fresh SSH login (web)" in failed[0]["error"]
    drop_in = "/etc/ssh/sshd_config.d/01-deploy-wizard-hardening.conf"
    assert "absent" in on_box_port(box, 2222, f"test -e {drop_in} || echo absent")
    with_key = write_recipe(live_dirs / "harden2.yaml", box, "  deploy_user:\n    name: web\n    authorized_keys:\n"
                            f"      - {pub}\n  firewall:\n    ssh_hardening: true\n", extra_target="  port: 2222\n")
    done = cli(live_dirs, "apply", str(with_key), "--yes", "--json")
    assert done.returncode == 0, done.stdout[-3000:]
    root = subprocess.run(sandbox_ssh(box, "root", 2222, "true"), capture_output=True, text=True, timeout=30)
    assert root.returncode != 0  # root is refused now
    web = subprocess.run(sandbox_ssh(box, "web", 2222, "id -un"), capture_output=True, text=True, timeout=30)
    assert web.stdout.strip() == "web"  # the proven key login keeps working


def sandbox_ssh(box, user: str, port: int, command: str) -> list[str]:
    from wizard.lab import sandbox

    args = sandbox.ssh_command(box.name, user, [command])
    args[args.index("-p") + 1] = str(port)
    return [args[0], "-o", f"HostKeyAlias={box.ip}", *args[1:]]
