"""Run a recipe's teaching checks on its server and say what each one answered ("Run these checks").

Why the teaching's own commands: the Summary and the runbook tell a learner to type them; running exactly
those (filled in by wizard.app.teach, with the privileges they say they need) proves they run as shown, and
shows what a healthy server answers. They only read; the transport arranges sudo as for every command, masks
every secret it knows, and the output is cut short and credentials in URLs masked before anyone sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from wizard.app.teach import Lesson, ShownCheck, Teacher
from wizard.engine.commands import MASK, Command, Masker, Op
from wizard.engine.i18n import _, n_
from wizard.engine.transports.base import SudoError, Transport, TransportError

if TYPE_CHECKING:
    from wizard.app.recipefile import Recipe
    from wizard.app.session import Questions

CHECK_TIMEOUT = 30.0  # seconds: a check reads; one that hangs is reported, the next one still runs
OUTPUT_LINES = 12
OUTPUT_CHARS = 1500
# user:password@ in a URL (DATABASE_URL and the like): the password never shows, whatever printed it
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)


class Verdict(StrEnum):
    PASSED = "passed"  # exit status 0
    FAILED = "failed"  # it ran and said no (another exit status)
    NOT_RUN = "not run"  # it could not run (sudo refused, the connection failed, a timeout)


@dataclass(frozen=True)
class CheckResult:
    step: str
    command: str  # as the lesson shows it (sudo included)
    verdict: Verdict
    exit_status: int | None
    output: str  # stdout then stderr, masked and cut short
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED


def shorten(text: str, lines: int = OUTPUT_LINES, chars: int = OUTPUT_CHARS) -> str:
    """The first lines of an output, saying how much was left out."""
    kept = text.rstrip("\n").splitlines()
    more = len(kept) - lines
    body = "\n".join(kept[:lines])
    if len(body) > chars:
        body, more = body[:chars] + "…", max(more, 0)
    if more > 0:
        body += "\n" + _("… ({n} more lines)").format(n=more)
    return body


def mask(text: str, masker: Masker | None = None) -> str:
    """Secrets the masker knows, and any password inside a URL, as ***."""
    text = masker(text) if masker is not None else text
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)


def command_of(check: ShownCheck) -> Command:
    """The check as the transport runs it: the filled-in line as written, with the privileges it asks for."""
    return Command((Op(check.text),), root=check.root, user=check.user)


async def run_checks(transport: Transport, lessons: Iterable[Lesson], *, timeout: float = CHECK_TIMEOUT,
                     on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Every server check of these lessons, in order, over a connected transport. Checks for your own machine
    are left out. When sudo is refused once, the other checks that need it are not run (and not asked again)."""
    results: list[CheckResult] = []
    refused: str | None = None
    for lesson in lessons:
        for check in lesson.checks:
            if check.local:
                continue
            if refused is not None and (check.root or check.user):
                result = CheckResult(lesson.step, check.typed, Verdict.NOT_RUN, None, refused, check.note)
            else:
                try:
                    answer = await transport.run(command_of(check), timeout=timeout)
                except SudoError as exc:
                    refused = str(exc)
                    result = CheckResult(lesson.step, check.typed, Verdict.NOT_RUN, None, refused, check.note)
                except TransportError as exc:
                    result = CheckResult(lesson.step, check.typed, Verdict.NOT_RUN, None, str(exc), check.note)
                else:
                    output = "\n".join(part for part in (answer.stdout.rstrip("\n"), answer.stderr.rstrip("\n"))
                                       if part)
                    result = CheckResult(lesson.step, check.typed,
                                         Verdict.PASSED if answer.exit_status == 0 else Verdict.FAILED,
                                         answer.exit_status, shorten(mask(output, transport.masker)), check.note)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


async def verify_recipe(recipe: Recipe, questions: Questions, *, host: str | None = None,
                        transport_factory: Callable[[], Transport] | None = None,
                        on_result: Callable[[CheckResult], None] | None = None,
                        on_login: Callable[[str | None], None] | None = None) -> tuple[Teacher, list[CheckResult]]:
    """Connect to the recipe's server, run every step's checks as the login user, close. The lessons are filled
    in for whoever the connection logged in as (root needs no sudo, and switches user with runuser); `on_login`
    hears who that is before the first check, so a list shown beforehand can say the same commands."""
    from wizard.app.session import make_transport

    transport = transport_factory() if transport_factory else make_transport(recipe, questions, Masker(), host)
    try:
        await transport.connect()
        teacher = Teacher.for_recipe(recipe, transport.login_user or None, host=host)
        if on_login is not None:
            on_login(transport.login_user or None)
        return teacher, await run_checks(transport, teacher.lessons(), on_result=on_result)
    finally:
        await transport.close()


def summary(results: list[CheckResult]) -> str:
    passed = sum(result.passed for result in results)
    return n_("{passed} of {n} check passed", "{passed} of {n} checks passed", len(results)).format(
        passed=passed, n=len(results))


__all__ = ["CheckResult", "Verdict", "command_of", "mask", "run_checks", "shorten", "summary", "verify_recipe"]
