"""The run screen at 80x24: apt/dpkg progress folded into one counting line (F3 shows all), a state column
that is never cut in English or Chinese, and a Plan tab that shows whole files."""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from screens.run_output import STATES, RunLog, cells, is_progress, state_label
from tests.tui.conftest import flow_keys, install_nginx, screen_text, show_run
from wizard.app.draft import Draft
from wizard.engine import i18n
from wizard.engine.events import ChangeStarted, OutputLine, StepStarted

APT = ["Reading package lists...", "Building dependency tree...", "Reading state information...",
       "Get:1 http://deb.debian.org/debian trixie/main amd64 nginx-common all 1.26.3-3 [110 kB]",
       "Fetched 1234 kB in 1s (1500 kB/s)", "Selecting previously unselected package nginx-common.",
       "(Reading database ... 31234 files and directories currently installed.)",
       "Preparing to unpack .../nginx-common_1.26.3-3_all.deb ...", "Unpacking nginx-common (1.26.3-3) ...",
       "Setting up nginx-common (1.26.3-3) ...", "Processing triggers for man-db (2.13.0-1) ..."]


def test_apt_and_dpkg_progress_is_recognised_and_what_they_install_is_not() -> None:
    assert all(is_progress(line) for line in APT)
    assert not is_progress("The following NEW packages will be installed:")
    assert not is_progress("E: Unable to locate package nginx-extras")


def test_a_line_is_measured_as_the_log_draws_it() -> None:
    """The log's width (how far it scrolls sideways) from a line's length where that is its width, and from its
    cells where it is not: Chinese takes two a character, a tab goes to the next stop, a control code one."""
    from rich.cells import cell_len
    from textual.widgets import Log

    for line in ("  | plain ascii output", "  | 安装 nginx", "a\tb\tc", "bell\x07here", "  | ✓ done", ""):
        assert cells(line) == cell_len(Log._process_line(line)), line
    assert cells("  | 安装") == len("  | 安装") + 2


async def test_f3_shows_the_other_view_whole_with_its_last_line_in_view_and_a_wide_line_reachable(
        draft: Draft) -> None:
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        screen.sink(StepStarted(step="os_updates", index=0, total=3))
        for n in range(300):
            screen.sink(OutputLine(step="os_updates", stream="stdout", text=f"Unpacking pkg{n} (1.0) ..."))
        screen.sink(OutputLine(step="os_updates", stream="stdout", text="失败：" + "很长的一行" * 30))
        screen.sink(OutputLine(step="os_updates", stream="stdout", text="multi\nline"))
        await pilot.pause(0.3)
        log = screen.query_one("#log", RunLog)
        assert log.line_count == 5  # the step, the fold, the long line, the two lines of the last
        await pilot.press("f3")
        await pilot.pause()
        assert log.line_count == 304 and log.lines[-2:] == ["  | multi", "line"]
        assert log.scroll_y == log.max_scroll_y > 0  # the end in view, as a run follows its output
        assert log.virtual_size.width == cells("  | 失败：" + "很长的一行" * 30)  # scrolls as far as the widest
        await pilot.press("f3")
        await pilot.pause()
        assert log.line_count == 5 and log.lines[1].startswith("  ⋯ 300 apt/dpkg lines")


def recipe_of(draft: Draft):  # noqa: ANN201
    draft.enabled = {"os_updates", "deploy_user", "app_server"}
    return draft.recipe()


async def test_the_open_fold_counts_on_in_place_and_f3_shows_every_line(draft: Draft) -> None:
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        install_nginx(screen, (f"Get:{n} http://deb.debian.org x" for n in range(200)))
        await pilot.pause(0.3)
        log = screen.query_one("#log", RunLog)
        assert log.lines[-1] == "  ⋯ 200 apt/dpkg lines · Get:199 http://deb.debian.org x"
        for n in range(50):  # after the fold was drawn: the same line counts on
            screen.sink(OutputLine(step="os_updates", stream="stdout", text=f"Unpacking pkg{n} (1.0) ..."))
        screen.sink(OutputLine(step="os_updates", stream="stdout", text="nginx is installed"))
        await pilot.pause(0.3)
        assert list(log.lines[-2:]) == ["  ⋯ 250 apt/dpkg lines · Unpacking pkg49 (1.0) ...", "  | nginx is installed"]
        assert log.line_count == 5
        await pilot.press("f3")
        await pilot.pause()
        assert log.line_count == 3 + 250 + 1 and log.lines[3] == "  | Get:0 http://deb.debian.org x"
        screen.sink(OutputLine(step="os_updates", stream="stdout", text="Setting up nginx (1.26) ..."))
        await pilot.pause(0.3)
        assert log.lines[-1] == "  | Setting up nginx (1.26) ..."  # shown as it comes while F3 is on
        await pilot.press("f3")
        await pilot.pause()
        assert list(log.lines[-2:]) == ["  | nginx is installed", "  ⋯ 1 apt/dpkg line · Setting up nginx (1.26) ..."]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_state_column_is_never_cut_at_80_columns(draft: Draft, lang: str) -> None:
    i18n.set_language(lang)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        for state in STATES:
            for step in ("os_updates", "deploy_user", "app_server"):
                screen._state(step, state)
            screen.query_one("#steps").update_cell("deploy_user", "time", "1234 s")
            await pilot.pause()
            text = screen_text(app)
            assert state_label(state) in text, f"{state_label(state)!r} cut:\n{text}"
            assert ("Deploy user" if lang == "en" else "部署用户") in text and "1234 s" in text


async def test_the_plan_tab_shows_the_whole_nginx_site_and_gunicorn_unit(draft: Draft) -> None:
    from wizard.app import registry
    from wizard.app.preview import preview
    from wizard.engine.step import PutFile

    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(flow_keys()["static+app_server+nginx"])
        await pilot.pause(0.5)
        plan = str(app.screen.query_one("#plan").render()).splitlines()
        ctx = draft.recipe().context()
        files = {}
        for name in ("app_server", "nginx"):
            step = registry.step(name)
            changes, _notes, _error = preview(step, ctx.settings(name), ctx)
            files |= {c.path: c.content.decode() for c in changes if isinstance(c, PutFile) and not c.secret}
        assert "/etc/nginx/sites-available/demo" in files and "/etc/systemd/system/demo@.service" in files
        for path, content in files.items():
            start = plan.index(next(line for line in plan if line.startswith(f"    write {path} ")))
            shown = plan[start + 1:start + 1 + len(content.splitlines())]
            assert shown == ["      " + line for line in content.splitlines()], path
        assert len(files["/etc/nginx/sites-available/demo"].splitlines()) > 12  # more than the old cut showed


async def test_the_scroll_keys_move_the_output_whatever_has_the_focus(draft: Draft) -> None:
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        for n in range(200):
            screen._line(f"line {n}")
        screen.flush()
        await pilot.pause()
        log = screen.query_one("#log", RunLog)
        assert app.focused is log and log.scroll_y == log.max_scroll_y
        for focus in (log, None):  # the log's own keys, and the screen's when nothing has the focus
            screen.set_focus(focus)
            await pilot.press("end", "pageup")
            await pilot.pause()
            assert log.scroll_y < log.max_scroll_y
            await pilot.press("home")
            await pilot.pause()
            assert log.scroll_y == 0
            await pilot.press("pagedown", "end")
            await pilot.pause()
            assert log.scroll_y == log.max_scroll_y


async def test_the_screen_keeps_the_last_lines_and_the_journal_keeps_every_one(
        draft: Draft, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    """A long output: the screen's log and its memory stay bounded (and say where the rest is), the folded view
    keeps what it showed however many progress lines went by, and the run's journal has every line."""
    import json

    from screens import run, run_output
    from wizard.engine.events import fan_out
    from wizard.engine.sinks import JournalSink

    monkeypatch.setattr(run, "SCROLLBACK", 50)
    monkeypatch.setattr(run_output, "SCROLLBACK", 50)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        journal = JournalSink("demo", "web1", tmp_path)
        emit = fan_out(screen.sink, journal)
        emit(StepStarted(step="os_updates", index=0, total=3))
        emit(ChangeStarted(step="os_updates", why="install nginx", description="apt-get install nginx"))
        for n in range(80):
            emit(OutputLine(step="os_updates", stream="stdout", text=f"Unpacking pkg{n} (1.0) ..."))
        for n in range(120):
            emit(OutputLine(step="os_updates", stream="stdout", text=f"built module {n}"))
        journal.close()
        await pilot.pause(0.3)
        log = screen.query_one("#log", RunLog)
        assert log.line_count == 50 and log.lines[-1] == "  | built module 119"
        assert log.lines[0] == "  | built module 70"
        assert len(screen.entries) == 50 and len(screen.view) == 50
        said = [str(n.message) for n in app._notifications]
        assert len([m for m in said if "keeps the last 50 lines" in m]) == 1  # said once, with where the rest is
        assert any("journal" in m for m in said)
        kept = [json.loads(line) for line in journal.path.read_text().splitlines()]
        assert [e["text"] for e in kept if e["event"] == "output"] == \
            [f"Unpacking pkg{n} (1.0) ..." for n in range(80)] + [f"built module {n}" for n in range(120)]


async def test_the_folded_view_keeps_its_lines_when_the_raw_lines_are_gone(
        draft: Draft, monkeypatch: pytest.MonkeyPatch) -> None:
    from screens import run, run_output

    monkeypatch.setattr(run, "SCROLLBACK", 50)
    monkeypatch.setattr(run_output, "SCROLLBACK", 50)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_run(app, pilot, recipe_of(draft))
        install_nginx(screen, (f"Setting up pkg{n} (1.0) ..." for n in range(80)))
        await pilot.pause(0.3)
        log = screen.query_one("#log", RunLog)
        folded_lines = list(log.lines)
        assert folded_lines[-1] == "  ⋯ 80 apt/dpkg lines · Setting up pkg79 (1.0) ..."
        assert "+ install nginx" in folded_lines and "  $ apt-get install nginx" in folded_lines
        await pilot.press("f3")
        await pilot.pause()
        assert log.line_count == 50 and log.lines[-1] == "  | Setting up pkg79 (1.0) ..."
        await pilot.press("f3")
        await pilot.pause()
        assert list(log.lines)[-1] == folded_lines[-1] and "+ install nginx" in log.lines
        screen.sink(OutputLine(step="os_updates", stream="stdout", text="Setting up nginx (1.26) ..."))
        await pilot.pause(0.3)
        assert log.lines[-1] == "  ⋯ 81 apt/dpkg lines · Setting up nginx (1.26) ..."  # counts on in place
