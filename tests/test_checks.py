"""Running the teaching's checks on a server ("Run these checks", `deploy-wizard verify`): what is sent, with
which privileges, and what comes back (pass or fail, masked, cut short), over a transport that answers like one."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.fakes import ScriptedTransport, scripted
from wizard.app.checks import Verdict, mask, run_checks, shorten, verify_recipe
from wizard.app.recipefile import load
from wizard.app.session import Questions
from wizard.app.teach import Teacher
from wizard.engine.commands import Masker, Secret
from wizard.engine.transports.base import Result, SudoMode

EXAMPLE = ROOT / "examples" / "flask-app.yaml"


def answers(line: str) -> Result:
    if "nginx -t" in line:
        return Result(1, "", "nginx: [emerg] unknown directive \"server_nme\" in /etc/nginx/sites-enabled/demo:3\n")
    if "database.env" in line:
        return Result(0, "postgresql://demo:s3cret-pw@127.0.0.1:5432/demo\n", "")
    if "ufw status" in line:
        return Result(-1, "", "")  # hangs: the transport gives up
    if "pip list" in line:
        return Result(0, "".join(f"package{n} 1.0\n" for n in range(40)), "")
    return Result(0, "ok\n", "")


async def test_every_server_check_runs_with_the_privileges_it_asks_for() -> None:
    recipe = load(EXAMPLE)
    transport = ScriptedTransport(answer=answers)
    await transport.connect()
    teacher = Teacher.for_recipe(recipe, transport.login_user)
    seen = []
    results = await run_checks(transport, teacher.lessons(), on_result=seen.append)
    server = [c for lesson in teacher.lessons() for c in lesson.checks if not c.local]
    assert [r.command for r in results] == [c.typed for c in server] and seen == results  # own-machine ones left out
    assert "python3 --version" in transport.sent  # the login user's own: sent as it is
    assert "sudo -n -- sh -c 'nginx -t'" in transport.sent
    assert any(line.startswith("sudo -n -u postgres -- sh -c 'psql -l'") for line in transport.sent)
    by_command = {r.command: r for r in results}
    nginx = by_command["sudo nginx -t"]
    assert nginx.verdict is Verdict.FAILED and nginx.exit_status == 1 and "server_nme" in nginx.output
    assert by_command["sudo ufw status verbose"].verdict is Verdict.NOT_RUN
    database = next(r for r in results if "database.env" in r.command)
    assert database.passed and "s3cret-pw" not in database.output and "postgresql://demo:***@127.0.0.1" in \
        database.output
    pip = next(r for r in results if "pip list" in r.command)
    assert pip.output.endswith("… (28 more lines)") and "package11 1.0" in pip.output


async def test_sudo_cancelled_once_is_not_asked_again() -> None:
    asked = []

    async def no_password(prompt: str) -> str | None:
        asked.append(prompt)
        return None

    transport = ScriptedTransport(sudo=SudoMode.PASSWORD, password_callback=no_password)
    await transport.connect()
    teacher = Teacher.for_recipe(load(EXAMPLE), transport.login_user)
    results = await run_checks(transport, teacher.lessons())
    assert len(asked) == 1
    privileged = [r for r in results if r.command.startswith("sudo ")]
    assert privileged and all(r.verdict is Verdict.NOT_RUN for r in privileged)
    assert "The sudo password for admin on target was not given (cancelled)" in privileged[-1].output
    assert all(r.passed for r in results if not r.command.startswith("sudo "))


async def test_verify_recipe_connects_as_the_recipe_says_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", scripted(user="root"))
    ScriptedTransport.opened.clear()
    teacher, results = await verify_recipe(load(EXAMPLE), Questions())
    [transport] = ScriptedTransport.opened
    assert transport.closed and teacher.login.is_root
    assert "sudo nginx -t" not in [r.command for r in results] and "nginx -t" in [r.command for r in results]
    assert all(r.passed for r in results)


def test_output_is_masked_and_cut_short() -> None:
    masker = Masker()
    masker.add(Secret("token", "tok-123456"))
    assert mask("API_TOKEN=tok-123456 mysql://shop:pa%40ss@db/shop", masker) == \
        "API_TOKEN=*** mysql://shop:***@db/shop"
    assert shorten("a\nb\nc\n", lines=2) == "a\nb\n… (1 more lines)"
    assert shorten("x" * 50, chars=10) == "x" * 10 + "…"
