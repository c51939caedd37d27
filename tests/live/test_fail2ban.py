"""Issue 10, item 4 (part), live: fail2ban really runs, on Debian 13 and on Debian 12. sshd logs only to the journal
there, so with Debian's default jail fail2ban finds no /var/log/auth.log and never starts, while every apply said
"1 change". The firewall step points the sshd jail at the journal and verifies the jail answers.

CI runs it on Debian 13 (the same code path; its time goes to the other modules); DEPLOY_WIZARD_ALL_RELEASES=1
runs it on Debian 12 too (bench/live_full.py sets it)."""

from __future__ import annotations

import os

import pytest

from tests.live.conftest import RELEASES, cli, events, finished, on_box, write_recipe


@pytest.fixture(scope="module", params=RELEASES)
def release(request):
    if request.param != RELEASES[0] and os.environ.get("DEPLOY_WIZARD_ALL_RELEASES") != "1":
        pytest.skip(f"on Debian 13 only in CI; DEPLOY_WIZARD_ALL_RELEASES=1 runs it on {request.param} too")
    return request.param


def test_fail2ban_watches_ssh_logins_in_the_journal_and_a_second_apply_changes_nothing(box, live_dirs) -> None:
    recipe = write_recipe(live_dirs / "fail2ban.yaml", box, """  os_updates:
    upgrade: none
  firewall:
    fail2ban: true
""")
    first = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert first.returncode == 0 and finished(first)["ok"], first.stdout[-3000:] + first.stderr[-2000:]
    checked = [e["why"] for e in events(first) if e["event"] == "change_started" and e["check"]]
    assert "fail2ban's sshd jail is running" in checked

    status = on_box(box, "fail2ban-client status sshd")
    assert status.returncode == 0 and "Journal matches:" in status.stdout, status.stdout + status.stderr
    assert on_box(box, "systemctl is-active fail2ban; systemctl is-enabled fail2ban").stdout.split() == [
        "active", "enabled"]

    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert finished(again)["changes"] == 0, [e for e in events(again) if e["event"] == "change_started"]
