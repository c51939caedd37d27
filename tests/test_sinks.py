"""The console log: the same words for a terminal, a pipe and NO_COLOR; colour only where it is welcome.
And where journals go."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from wizard.engine.events import (
    ChangeStarted,
    Notice,
    NoticeLevel,
    RunFinished,
    RunStarted,
    StepFinished,
    StepNoop,
    StepPlanned,
)
from wizard.engine.sinks import ConsoleSink, state_dir

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7])[;m]")
DIFF = "--- /etc/x\n+++ /etc/x (new)\n@@ -1 +1 @@\n-old [bold]not markup[/bold]\n+new :smile:\n same\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(out: io.StringIO, prefix: str = "") -> str:
    sink = ConsoleSink(out, prefix=prefix)
    for event in [RunStarted("10.0.0.5", "plan", ["nginx"]),
                  StepPlanned("nginx", [{"why": "write the [site]", "do": "install /etc/x", "diff": DIFF}], []),
                  ChangeStarted("nginx", "reload", "systemctl reload nginx"),
                  StepNoop("os_updates", "already there"),
                  StepFinished("nginx", "planned", 1, 0.25, 3),
                  RunFinished(True, 1, ["nginx"], 1.5, 7, commands=31)]:
        sink(event)
    return out.getvalue()


EXPECTED = """Planning 1 step on 10.0.0.5
  + write the [site]
      install /etc/x
      --- /etc/x
      +++ /etc/x (new)
      @@ -1 +1 @@
      -old [bold]not markup[/bold]
      +new :smile:
       same
  + reload
    $ systemctl reload nginx
  = nothing to do: already there
  to change: 1 (0.2 s)
OK: 1 change (nginx), 1.5 s, 31 remote commands in 7 round trips
"""


@pytest.fixture(autouse=True)
def detect(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_a_pipe_gets_plain_words() -> None:
    assert run(io.StringIO()) == EXPECTED


def test_several_hosts_prefix_every_line() -> None:
    assert run(io.StringIO(), "[h1] ") == "".join("[h1] " + line + "\n" for line in EXPECTED.splitlines())


def test_a_terminal_gets_colour_and_the_same_words() -> None:
    text = run(Terminal())
    assert COLOUR.search(text)
    assert "\x1b[32m+new :smile:" in text and "\x1b[31m-old [bold]not markup[/bold]" in text  # the diff
    assert ESCAPE.sub("", text) == EXPECTED


def test_no_color_is_honoured_in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    text = run(Terminal())
    assert not COLOUR.search(text) and ESCAPE.sub("", text) == EXPECTED


def test_journals_live_in_the_xdg_state_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state" / "deploy-wizard"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("XDG_STATE_HOME"), lambda: monkeypatch.setenv("XDG_STATE_HOME", "")):
        unset()
        assert state_dir() == tmp_path / "home" / ".local" / "state" / "deploy-wizard"


def test_a_check_that_finds_drift_says_drift_and_a_failed_run_names_its_step() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    sink(RunStarted("10.0.0.5", "check", ["tls"]))
    sink(RunFinished(ok=True, changes=1, changed_steps=["tls"], seconds=0.5, round_trips=3))
    assert out.getvalue().splitlines()[-1].startswith("DRIFT: 1 change (tls)")
    sink(RunStarted("10.0.0.5", "apply", ["app_server"]))
    sink(ChangeStarted("app_server", "ask the live app /health the way nginx will", "curl ...", check=True))
    sink(RunFinished(ok=False, changes=6, changed_steps=["code"], seconds=4.0, round_trips=9, failed_step="app_server"))
    lines = out.getvalue().splitlines()
    assert "  = check: ask the live app /health the way nginx will" in lines
    assert lines[-1] == "  stopped at the step app_server: its error is above"


def test_a_step_is_headed_by_its_key_on_the_command_line_and_by_what_the_front_end_names_it() -> None:
    """Finding of the third walk: the wizard's Review headed its plan "[1/2] os_updates" while the run screen and
    the summary say "OS updates"; the Review gives the sink the steps' titles."""
    from wizard.engine.events import StepStarted

    plain, titled = io.StringIO(), io.StringIO()
    ConsoleSink(out=plain)(StepStarted(step="os_updates", index=0, total=2))
    ConsoleSink(out=titled, label={"os_updates": "OS updates"}.get)(StepStarted(step="os_updates", index=0, total=2))
    assert plain.getvalue().strip() == "[1/2] os_updates" and titled.getvalue().strip() == "[1/2] OS updates"


def test_the_warning_mark_is_for_warnings_only_and_a_note_has_its_own() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    sink(Notice("database", "secret database.password: read from env DB_PASSWORD", level=NoticeLevel.NOTE))
    sink(Notice("", "~/.ssh/known_hosts line 3 skipped: not a host key"))
    sink(StepPlanned("nginx", [], [], warnings=[{"text": "the site has no TLS", "fix": "add the tls step"}]))
    lines = out.getvalue().splitlines()
    assert lines[0] == "  · secret database.password: read from env DB_PASSWORD"
    assert lines[1] == "  ! ~/.ssh/known_hosts line 3 skipped: not a host key"
    assert lines[2:] == ["  ! the site has no TLS", "      add the tls step"]


def test_a_progress_line_redrawn_in_place_is_logged_as_a_terminal_ends_up_showing_it() -> None:
    """apt redraws "Reading database ... 5%" with carriage returns: a log shows its last state, not all of them."""
    from wizard.engine.events import OutputLine

    out = io.StringIO()
    sink = ConsoleSink(out)
    sink(OutputLine("nginx", "stdout", "(Reading database ... \r(Reading database ... 5%\r(Reading database ... "
                                       "100%\r(Reading database ... 31234 files and directories currently installed.)"))
    sink(OutputLine("nginx", "stdout", "Progress: [ 40%]\r"))
    sink(OutputLine("nginx", "stdout", "plain line"))
    lines = ESCAPE.sub("", out.getvalue()).splitlines()
    assert lines == ["    | (Reading database ... 31234 files and directories currently installed.)",
                     "    | Progress: [ 40%]", "    | plain line"]
