"""bench/first_apply.py's breakdown: each change's seconds land in its step's row under its kind of command."""

from __future__ import annotations

import pytest

from bench.first_apply import breakdown, kind_of


@pytest.mark.parametrize(("line", "kind"), [
    ("apt-get -y install --no-install-recommends postgresql logrotate   # after waiting for the dpkg lock", "apt"),
    ("echo 'man-db man-db/auto-update boolean false' | debconf-set-selections && rm -f x   # after waiting", "apt"),
    ("/usr/bin/python3 -m venv /srv/demo/venv   # as demo", "pip"),
    ("/srv/demo/venv/bin/pip install --disable-pip-version-check -q gunicorn   # as demo", "pip"),
    ("systemctl enable --now demo.socket", "systemd"),
    ("write /etc/nginx/sites-available/demo (mode 0644, root:root, 900 bytes)", "other"),
    ("git clone --no-checkout git://10.99.1.1/demo.git /srv/demo/releases/abc", "other"),
])
def test_each_command_has_its_kind(line: str, kind: str) -> None:
    assert kind_of(line) == kind


def test_a_step_splits_into_kinds_checks_and_the_rest() -> None:
    events = [
        {"event": "change_started", "step": "database", "check": False},
        {"event": "change_done", "step": "database", "description": "apt-get -y install postgresql", "seconds": 6.0},
        {"event": "change_started", "step": "database", "check": False},
        {"event": "change_done", "step": "database", "description": "systemctl restart postgresql", "seconds": 1.5},
        {"event": "change_started", "step": "database", "check": True},
        {"event": "change_done", "step": "database", "description": "systemctl is-active postgresql", "seconds": 0.5},
        {"event": "step_finished", "step": "database", "seconds": 9.0},
        {"event": "run_finished", "changes": 2},
    ]
    table, commands, finished = breakdown(events)
    row = table["database"]
    assert (row["apt"], row["systemd"], row["verify"], row["total"]) == (6.0, 1.5, 0.5, 9.0)
    assert row["facts"] == pytest.approx(1.0)  # what the commands leave of the step: reading and planning
    assert finished["changes"] == 2 and len(commands) == 3
