"""`deploy-wizard verify FILE`: run every step's "how to verify" commands on the server and say what each answered.

Why a command: the runbook and the wizard's Summary tell a learner to type these checks; this runs exactly those
(wizard.app.checks), as the recipe's login user with sudo where a check needs root, so a learner sees what a
healthy server answers, and a script can ask "does the server still pass its own checks?" (exit 0 or 1).
"""

from __future__ import annotations

import argparse
import asyncio

from wizard.cli.common import err, load_recipe, questions
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _

MARKS = {"passed": "✓", "failed": "✗", "not run": "-"}


def handle(args: argparse.Namespace) -> int:
    """Connect, run the checks, print each as it comes (its output indented below a failed one); 0 when all pass."""
    from wizard.app.checks import CheckResult, Verdict, summary, verify_recipe

    recipe = load_recipe(args)

    def show(result: CheckResult) -> None:
        status = {Verdict.FAILED: _("exit {code}").format(code=result.exit_status),
                  Verdict.NOT_RUN: _("not run")}.get(result.verdict)
        print(f"{MARKS[result.verdict]} {result.step}: {result.command}" + (f"  ({status})" if status else ""),
              flush=True)
        if not result.passed or args.verbose:
            print("\n".join(f"    {line}" for line in result.output.splitlines()), flush=True)

    teacher, results = asyncio.run(verify_recipe(recipe, questions(args, recipe), host=args.host, on_result=show))
    print(summary(results))
    local = [check for lesson in teacher.lessons() for check in lesson.checks if check.local]
    if local:
        err(_("Not run here ({n}), for your own machine: {commands}").format(
            n=len(local), commands="; ".join(check.typed for check in local)))
    return ExitCode.OK if all(result.passed for result in results) else ExitCode.FAILED


__all__ = ["handle"]
