"""bench/releases.py builds issue 10's step x release table from the CLI's JSON events: the re-applies are timed
as (result, seconds) pairs, and every one of them reports its own changes (a timed no-op that changed something
must show, not only the last run's count)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from bench import releases
from bench.releases import changes, summarise


def run(*events: dict, code: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["deploy-wizard"], code, "\n".join(map(json.dumps, events)) + "\n", "")


def applied(step_changes: int, total: int) -> subprocess.CompletedProcess[str]:
    return run({"event": "step_started", "step": "nginx"},
               {"event": "step_finished", "step": "nginx", "status": "changed" if step_changes else "ok",
                "changes": step_changes},
               {"event": "step_failed", "step": "tls"},
               {"event": "run_finished", "ok": True, "changes": total})


def test_summary_reads_timed_pairs_and_every_re_apply_s_changes() -> None:
    first = (applied(3, 9), 61.0)
    noops = [(applied(0, 0), 2.0), (applied(1, 1), 4.0), (applied(0, 0), 3.0)]
    summary = summarise(first, noops)
    assert summary["first"] == {"nginx": "changed (3)", "tls": "FAILED"}
    assert summary["noop"] == {"nginx": "ok (0)", "tls": "FAILED"}  # the last re-apply's statuses
    assert summary["first_s"] == 61.0 and summary["noop_s"] == [2.0, 3.0, 4.0]  # min, median, max of the re-applies
    assert summary["ok"] is True
    assert summary["noop_changes"] == [0, 1, 0]  # the middle one changed something: it shows


def test_a_run_that_never_finished_has_no_count_and_a_failed_first_apply_is_not_ok() -> None:
    died = run({"event": "step_started", "step": "nginx"}, code=1)
    assert changes(died) is None
    summary = summarise((died, 5.0), [(died, 1.0)])
    assert summary["ok"] is False and summary["noop_changes"] == [None]


def test_every_run_gets_the_same_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password drawn per run changed the role and database.env on every re-apply (3 changes each time)."""
    seen: list[str] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(kwargs["env"]["DEMO_DB_PASSWORD"])
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(releases.subprocess, "run", fake_run)
    releases.cli("apply", "x.yaml")
    releases.cli("apply", "x.yaml")
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].startswith("bench-")
