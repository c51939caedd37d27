"""`deploy-wizard logs` (issue 20, 5.1) without a server: the questions refused before connecting, where each
service's logs are found, the command sent, and the masking of lines. The live proof: tests/live/test_observe.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import ROOT
from wizard.app import logs
from wizard.app.recipefile import load
from wizard.engine.errors import ExitCode

RECIPE = ROOT / "examples" / "flask-app.yaml"


@pytest.mark.parametrize(("words", "key"), [(["app"], "app"), (["nginx"], "nginx"), (["db"], "db"),
                                           (["system"], "system"), (["worker", "emails"], "worker emails")])
def test_services_are_named_as_the_steps_offer_them(words: list[str], key: str) -> None:
    assert logs.service_key(words) == key


@pytest.mark.parametrize("words", [["mail"], ["worker"], ["worker", "Bad;Name"], ["app", "extra"], []])
def test_an_unknown_service_is_bad_input(words: list[str]) -> None:
    with pytest.raises(logs.LogsError) as caught:
        logs.service_key(words)
    assert caught.value.exit_code == ExitCode.BAD_INPUT and "--service" in str(caught.value)


def test_since_is_read_as_journalctl_reads_it_and_refused_otherwise() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    since = logs.parse_since("2h", now)
    assert since.journal == "2h ago" and since.cutoff == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert logs.parse_since("30m", now).journal == "30min ago"
    assert logs.parse_since("2026-12-04 17:00", now).journal == "2026-12-04 17:00"
    for bad in ("3x", "2026-13-40", "-1h; rm -rf /", "last tuesday"):
        with pytest.raises(logs.LogsError, match="--since"):
            logs.parse_since(bad, now)
    with pytest.raises(logs.LogsError, match="--grep"):
        logs.parse_grep("(")


def test_each_service_is_read_where_its_step_put_it() -> None:
    recipe = load(RECIPE)
    assert logs.source_of(recipe, "app").units == ("demo@*.service", "demo-candidate.service")
    assert logs.source_of(recipe, "nginx").files == ("/var/log/nginx/demo.access.log",
                                                     "/var/log/nginx/demo.error.log", "/var/log/nginx/error.log")
    db = logs.source_of(recipe, "db")
    assert db.files == ("/var/log/postgresql/postgresql-*-main.log",) and db.user == "postgres"
    assert logs.source_of(recipe, "worker emails").units == ("demo-worker-emails@*.service",)
    assert logs.source_of(recipe, "system").units == ()


def test_a_service_the_recipe_lacks_is_refused_with_what_it_has() -> None:
    recipe = load(RECIPE)
    without_db = recipe.model_copy(update={"steps": recipe.steps.model_copy(update={"database": None})})
    with pytest.raises(logs.LogsError, match="it has: app, nginx, worker NAME, system"):
        logs.source_of(without_db, "db")


def test_the_commands_sent() -> None:
    recipe = load(RECIPE)
    journal = logs.command(logs.source_of(recipe, "app"), lines=20, follow=True, since=None)
    assert journal.display == "journalctl --no-pager -o short-iso -u demo@*.service -u demo-candidate.service -n 20 -f"
    assert journal.root
    since = logs.parse_since("1h")
    files = logs.command(logs.source_of(recipe, "nginx"), lines=20, follow=False, since=since)
    assert files.display.startswith("tail -n +1 /var/log/nginx/demo.access.log")  # all of it, filtered here
    assert logs.command(logs.source_of(recipe, "db"), lines=5, follow=False, since=None).user == "postgres"


def test_lines_are_masked_whole_filtered_by_time_and_grep() -> None:
    masker, unread = logs.masker_for(load(RECIPE), environ={"DEMO_DB_PASSWORD": "s3cret-pw"})
    assert unread == []
    shown: list[str] = []
    cutoff = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    lines = logs.LineFilter(masker, shown.append, grep=logs.parse_grep("GET|boom"), cutoff=cutoff)
    lines.feed('1.2.3.4 - - [04/Dec/2026:09:59:59 +0000] "GET /old HTTP/1.1" 200\n'
               '1.2.3.4 - - [04/Dec/2026:10:00:01 +0000] "GET /new HTTP/1.1" 500\nboom with s3cr')
    lines.feed("et-pw and postgresql://owner:born-on-server@localhost/demo\nnot matched\n")
    lines.close()
    assert shown == ['1.2.3.4 - - [04/Dec/2026:10:00:01 +0000] "GET /new HTTP/1.1" 500',
                     "boom with *** and postgresql://owner:***@localhost/demo"]


def test_a_secret_not_readable_here_is_said() -> None:
    _masker, unread = logs.masker_for(load(RECIPE), environ={})
    assert unread == ["database.password"]


def test_since_filters_every_file_log_on_the_servers_clock() -> None:
    """nginx's error log and PostgreSQL's write times without a zone (or with a name): they are read on the server's
    clock, which it says first; a date (`today`) is a moment on that clock too."""
    masker, _unread = logs.masker_for(load(RECIPE), environ={})
    shown: list[str] = []
    lines = logs.LineFilter(masker, shown.append, wall="today")
    lines.feed(f"{logs.NOW_MARK}2026-12-04T09:30:00+0100\n"  # the server is one hour ahead of UTC
               "==> /var/log/nginx/error.log <==\n"
               "2026/12/03 23:59:59 [error] 812#812: yesterday's\n"
               "2026/12/04 00:00:01 [error] 812#812: today's, local time\n"
               "==> /var/log/postgresql/postgresql-17-main.log <==\n"
               "2026-12-03 23:30:00.120 UTC [901] LOG:  00:30 on the server's clock: today's\n"
               "2026-12-03 23:30:00.120 CET [901] LOG:  in the server's zone: yesterday's\n"
               "\tDETAIL:  follows the line before\n"
               '1.2.3.4 - - [03/Dec/2026:23:00:00 +0000] "GET /at-midnight HTTP/1.1" 200\n')
    lines.close()
    assert shown == ["==> /var/log/nginx/error.log <==", "2026/12/04 00:00:01 [error] 812#812: today's, local time",
                     "==> /var/log/postgresql/postgresql-17-main.log <==",
                     "2026-12-03 23:30:00.120 UTC [901] LOG:  00:30 on the server's clock: today's",
                     '1.2.3.4 - - [03/Dec/2026:23:00:00 +0000] "GET /at-midnight HTTP/1.1" 200']
    files = logs.command(logs.source_of(load(RECIPE), "db"), lines=5, follow=False, since=logs.parse_since("today"))
    assert files.display.startswith("tail -n +1 ") and logs.NOW_MARK.strip() in files.shell()
