"""Issue 21: "Learn by doing" from Welcome, the course's screen (pilot tests). What a button does on a server is
the `learn` command's (tests/live/test_learn.py); here the grade is handed in, and the screen must show it, count
it in the saved progress and move on, in English and Chinese."""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from screens.learn import LearnScreen, learner
from tests.conftest import ROOT
from tests.tui.test_keys import screen_text
from wizard.app.draft import Draft
from wizard.app.learn import progress as store
from wizard.app.learn.grade import Finding, Grade, Item
from wizard.app.learn.progress import Progress, StepState
from wizard.engine import i18n


def saved_course() -> Progress:
    progress = Progress(learner(), str(ROOT / "examples" / "flask-app.yaml"), "10.99.1.2", sandbox="learn")
    store.save(progress)
    return progress


async def test_welcome_has_learn_by_doing_and_without_a_course_it_says_how_to_start() -> None:
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#learn").press()
        await pilot.pause()
        assert isinstance(app.screen, LearnScreen)
        text = screen_text(app)
        assert "No course yet" in text and app.screen.query_one("#start").display
        assert not app.screen.query_one("#actions").display
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LearnScreen)


@pytest.mark.parametrize(("lang", "heading", "missing", "hint"), [
    ("en", "Step 1 of 11: OS updates", "Still missing:", "Hint 1 of 3:"),
    ("zh_CN", "第 1 步（共 11 步）", "还缺少：", "提示 1/3："),
])
async def test_the_course_screen_shows_the_step_a_grade_and_a_hint(monkeypatch: pytest.MonkeyPatch, lang: str,
                                                                 heading: str, missing: str, hint: str) -> None:
    saved_course()
    i18n.set_language(lang)
    asked = []

    async def fake_grade(recipe, questions, step, host=None):  # the server's answer, handed in
        asked.append(step)
        return Grade(step, [Finding("packages are current", "3 packages can be upgraded")],
                     missing=[Item("upgrade the installed packages", commands=("$ sudo apt-get upgrade",))])

    monkeypatch.setattr("wizard.app.learn.session.grade", fake_grade)
    app = WizardApp(Draft(name="demo"), start="welcome")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(LearnScreen())
        await pilot.pause()
        assert heading in app.screen.query_one("#step").render().plain
        app.screen.query_one("#check").press()
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = str(app.screen.query_one("#result").render())
        assert missing in result and "upgrade the installed packages" in result
        assert "apt-get upgrade" not in result  # the command only in the last hint
        app.screen.query_one("#hint").press()
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = str(app.screen.query_one("#result").render())
        assert hint in result and "apt" in result
    again = store.load(learner())
    assert again is not None and again.steps["os_updates"].checks == 1 and again.steps["os_updates"].hints == 1
    assert again.steps["os_updates"].state is StepState.OPEN and asked == ["os_updates"]


async def test_a_passing_check_moves_the_course_on(monkeypatch: pytest.MonkeyPatch) -> None:
    saved_course()

    async def passing(recipe, questions, step, host=None):
        return Grade(step, [Finding("packages are current", None)])

    monkeypatch.setattr("wizard.app.learn.session.grade", passing)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(LearnScreen())
        await pilot.pause()
        app.screen.query_one("#check").press()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Step 2 of 11: Deploy user" in app.screen.query_one("#step").render().plain
        assert "Passed: the step is done." in str(app.screen.query_one("#result").render())
    again = store.load(learner())
    assert again is not None and again.steps["os_updates"].state is StepState.BY_HAND
    assert again.current == "deploy_user"


async def test_with_a_drill_running_check_grades_the_drills_step_and_the_tool_stays_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    progress = saved_course()
    progress.steps["static"] = store.StepRecord(StepState.BY_TOOL)
    progress.broke("static-403")
    store.save(progress)
    asked = []

    async def fixed(recipe, questions, step, host=None):
        asked.append(step)
        return Grade(step, [Finding("nginx (www-data) can reach the static files", None)])

    monkeypatch.setattr("wizard.app.learn.session.grade", fixed)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(LearnScreen())
        await pilot.pause()
        app.screen.query_one("#do").press()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Fix the drill static-403 first" in screen_text(app)
        app.screen.query_one("#check").press()
        await app.workers.wait_for_complete()
        await pilot.pause()
    again = store.load(learner())
    assert asked == ["static"] and again is not None and again.drills["static-403"].state.value == "fixed"
    assert again.drill == "" and again.current == "os_updates"  # the course itself did not move
