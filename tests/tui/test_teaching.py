"""The teaching the tutorial has and the screens lacked (issue 18, item 7), each where a learner meets it: a
"before you start" checklist on Welcome; a network check and "Unable to locate package" for OS updates; why
/srv/APP; reload versus restart for nginx and gunicorn; where the app's logs are on the Monitoring screen; and on
the Summary, one recipe for several servers and the exports as the automation to take away."""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.app import WizardApp
from tests.tui.conftest import flow_keys
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.teach import Teacher
from wizard.engine import i18n
from wizard.engine.runner import RunResult

FLOW = flow_keys()


def lesson_text(draft: Draft, step: str) -> str:
    lesson = Teacher.for_draft(draft).lesson(registry.step(step))
    return "\n".join([lesson.why, *(c.typed + " " + c.note for c in lesson.checks),
                      *(f"{symptom} {fix}" for symptom, fix in lesson.troubleshoot)])


def test_the_step_lessons_fill_the_gaps(draft: Draft) -> None:
    os_updates = Teacher.for_draft(draft).lesson(registry.step("os_updates"))
    network = os_updates.checks[0]
    assert network.typed == "sudo apt-get update" and "package mirrors" in network.note
    assert any(symptom.startswith("E: Unable to locate package") for symptom, _fix in os_updates.troubleshoot)
    assert "/srv/demo" in lesson_text(draft, "code") and "/var/www/myapp" in lesson_text(draft, "code")
    for step, words in (("nginx", "systemctl reload nginx"), ("app_server", "systemctl restart 'demo@*'")):
        why = Teacher.for_draft(draft).lesson(registry.step(step)).why
        assert words in why and "restart" in why, step
    monitoring = Teacher.for_draft(draft).lesson(registry.step("monitoring")).why
    assert "journalctl -u 'demo@*'" in monitoring and "/var/log/demo/access.log" in monitoring


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_welcome_has_the_before_you_start_checklist(lang: str) -> None:
    i18n.set_language(lang)
    app = WizardApp(Draft(name="demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#checklist").render())
    for word in ("git", "requirements.txt", "WSGI/ASGI", "DNS"):
        assert word in text, word


async def test_the_monitoring_screen_says_where_the_logs_are(draft: Draft) -> None:
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["monitoring"])
        await pilot.pause()
        assert "journalctl -u 'demo@*'" in str(app.screen.query_one("#why").render())


async def test_the_summary_names_more_servers_and_the_exports(draft: Draft) -> None:
    from screens.summary import SummaryScreen

    draft.enabled = {"os_updates", "deploy_user"}
    result = RunResult(ok=True, changes=1, changed_steps=["os_updates"], failed_step=None, error=None, seconds=1.0,
                       round_trips=1)
    app = WizardApp(draft, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(SummaryScreen(draft.recipe(), result, None, Path("demo.yaml")))
        await pilot.pause()
        text = str(app.screen.query_one("#summary-text").render())
    assert "deploy-wizard apply demo.yaml --host web2 --host web3" in text and "--inventory hosts.yaml" in text
    assert "deploy-wizard export demo.yaml --format shell --record-on sandbox" in text and "--format ansible" in text
