"""`deploy-wizard plan|apply|check FILE`: one host, or many at once (--host A --host B, --inventory).

Why these three share a handler: they are the same run in three modes (dry run, change, drift check), with
the same hosts, overrides, questions and output; only apply asks first, and only check reports drift (exit 3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.cli.common import load_recipe, questions
from wizard.cli.confirm import ask, confirm, must_ask
from wizard.engine.errors import ExitCode, UsageError
from wizard.engine.i18n import _, n_

if TYPE_CHECKING:
    from wizard.app.fleet import HostResult
    from wizard.app.recipefile import Recipe
    from wizard.app.session import Questions
    from wizard.engine.events import Sink
    from wizard.engine.runner import RunResult


def handle(args: argparse.Namespace) -> int:
    """Run the recipe in the mode named by the command, on the hosts the command line names."""
    recipe = load_recipe(args)
    if not recipe.selected():
        raise UsageError(_("{file}: the recipe has no steps; add at least one under 'steps:'").format(file=args.file))
    hosts, pins = _hosts(args)
    asked = questions(args, recipe, pins)
    if len(hosts) > 1:
        return _fleet(args, recipe, list(dict.fromkeys(hosts)), asked, pins)
    return _single(args, recipe, hosts[0] if hosts else None, asked)


def _hosts(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """--host values (checked like the recipe's target.host) and the inventory's hosts ([] for the recipe's),
    and the host keys the inventory pins."""
    from wizard.app.fleet import load_inventory
    from wizard.app.recipefile import host_name

    hosts = list(args.hosts or [])
    try:
        for host in hosts:
            host_name(host)
    except ValueError as exc:
        raise UsageError(_("--host: {why}").format(why=exc)) from None
    if not args.inventory:
        return hosts, {}
    inventory = load_inventory(Path(args.inventory))
    return hosts + inventory.hosts, inventory.pins


def _needs_yes() -> str:
    return _("apply needs --yes when there is no terminal to confirm on.")


def _single(args: argparse.Namespace, recipe: Recipe, host: str | None, asked: Questions) -> int:
    """One host: apply plans first and asks with the number of changes; the run's journal is named after."""
    from wizard.app.session import run_recipe
    from wizard.engine.sinks import ConsoleSink, JsonSink

    sink = JsonSink() if args.json else ConsoleSink(show_output=not getattr(args, "quiet", False))
    if args.command == "apply" and must_ask(args.yes, _needs_yes()):
        # the plan of an apply reads every secret, as the apply will: a missing one stops before the question
        planned = asyncio.run(run_recipe(recipe, "plan", sink, asked, host=host, secrets_first=True))
        if not planned.ok:
            return ExitCode.FAILED
        if planned.changes == 0 and planned.later == 0:
            print(_("Nothing to change: the server already matches the recipe."))
            return ExitCode.OK
        question = (n_("Apply this {n} change? [y/N] ", "Apply these {n} changes? [y/N] ", planned.changes)
                    if not planned.later else  # what only the run decides is part of what is applied: say so
                    n_("Apply this {n} change and the ones decided at run time (marked ?)? [y/N] ",
                       "Apply these {n} changes and the ones decided at run time (marked ?)? [y/N] ", planned.changes))
        if not ask(question.format(n=planned.changes)):
            print(_("Nothing was changed."))
            return ExitCode.OK
    resolved: list[Recipe] = []
    result = asyncio.run(run_recipe(recipe, args.command, sink, asked, host=host,
                                    resume=getattr(args, "resume", False),
                                    lock_wait=getattr(args, "lock_wait", 0), on_resolved=resolved.append))
    if result.journal and not args.json:
        print(_("Journal: {path}").format(path=result.journal))
    if args.command == "apply" and result.ok and resolved and _resolves(resolved[0]):
        _save_resolved(args, resolved[0])
    return _outcome(args, result)


def _resolves(recipe: Recipe) -> bool:
    """Whether the run resolved any goal (an intent step's value): only then is there anything to save, and the
    file is read again (a recipe without goals, as most are, is not read twice)."""
    from wizard.engine.intent import Intent

    return any(isinstance(step, Intent) and getattr(settings, "resolved", None) is not None
               for step, settings in recipe.selected())


def _save_resolved(args: argparse.Namespace, resolved: Recipe) -> None:
    """After the first apply of a recipe with goals, the values they resolved to go into the file beside them
    (wizard/app/goals.py, save_resolved), and the operator is told how."""
    from wizard.app.goals import Saved, save_resolved

    saved = save_resolved(Path(args.file), resolved)
    if saved is Saved.INSERTED:
        print(_("Saved the values the goals resolved to in {path} (goals.resolved; the rest of the file is as it "
                "was).").format(path=args.file))
    elif saved is Saved.REWRITTEN:
        print(_("Saved the values the goals resolved to in {path} (goals.resolved). The file was saved whole: its "
                "comments are gone.").format(path=args.file))


def _outcome(args: argparse.Namespace, result: RunResult) -> int:
    """The exit code of a finished run; check also says whether it found drift."""
    if args.command == "check" and result.ok:
        if not args.json:
            print(n_("Drift: {n} difference in {steps}", "Drift: {n} differences in {steps}", result.changes).format(
                n=result.changes, steps=", ".join(
                result.changed_steps)) if result.changes else _("No drift: the server matches the recipe."))
        return ExitCode.DRIFT if result.changes else ExitCode.OK
    return ExitCode.OK if result.ok else ExitCode.FAILED


def _fleet(args: argparse.Namespace, recipe: Recipe, hosts: list[str], asked: Questions,
           pins: dict[str, str]) -> int:
    """Many hosts at once: one commit for all of them, a result per host; the exit code is the worst of them."""
    from wizard.app.fleet import pin_shared, run_fleet, write_retry
    from wizard.engine.sinks import ConsoleSink, JsonSink, state_dir

    recipe, pinned = asyncio.run(pin_shared(recipe))
    for item in pinned:
        if not args.json:
            print(_("Every host gets {setting} (read once, here).").format(setting=item))
    question = n_("Apply the recipe to {n} host? [y/N] ", "Apply the recipe to {n} hosts? [y/N] ", len(hosts))
    if args.command == "apply" and not confirm(question.format(n=len(hosts)), yes=args.yes, refusal=_needs_yes()):
        print(_("Nothing was changed."))
        return ExitCode.OK

    def sink_for(host: str) -> Sink:
        if args.json:
            return JsonSink(host=host)
        return ConsoleSink(show_output=not getattr(args, "quiet", False), prefix=f"[{host}] ")

    def on_batch(number: int, count: int, group: list[str]) -> None:
        if args.json:
            print(json.dumps({"event": "batch_started", "batch": number, "of": count, "hosts": group}), flush=True)
        else:
            print(_("Batch {n} of {count}: {hosts}").format(n=number, count=count, hosts=", ".join(group)))

    results = asyncio.run(run_fleet(recipe, args.command, hosts, sink_for, asked, parallel=args.parallel,
                                    fail_fast=args.fail_fast, lock_wait=getattr(args, "lock_wait", 0),
                                    batch=args.batch, on_batch=on_batch))
    _print_results(args, results)
    retry = write_retry(results, pins, state_dir(), Path(args.file).stem)
    if retry:
        again = ["deploy-wizard", args.command, args.file, "--inventory", str(retry),
                 *(f"--set={item}" for item in [*args.set, *pinned])]
        if args.json:
            print(json.dumps({"event": "retry", "inventory": str(retry), "command": again}), flush=True)
        else:
            print(_("To run again on only the hosts that failed or did not start:"))
            print("  " + shlex.join(again))
    failed = [r for r in results if r.status != "ok"]
    if args.command == "check" and not failed:
        return ExitCode.DRIFT if any(r.result and r.result.changes for r in results) else ExitCode.OK
    return ExitCode.FAILED if failed else ExitCode.OK


def _print_results(args: argparse.Namespace, results: list[HostResult]) -> None:
    """One line (or one JSON event) per host, after all of them finished."""
    if args.json:
        for r in results:
            print(json.dumps({"event": "host_result", "host": r.host, "status": r.status, "error": r.error,
                              "changes": r.result.changes if r.result else None, "seconds": round(r.seconds, 2)}),
                  flush=True)
        return
    from rich.cells import cell_len

    said = {"ok": _("ok", context="host"), "failed": _("failed"), "not started": _("not started")}
    print(_("Results:"))
    for r in results:
        changes = r.result.changes if r.result else "-"
        status = said.get(r.status, r.status)
        status += " " * max(1, 13 - cell_len(status))  # a Chinese character takes two columns
        print(f"  {r.host:30} {status}{changes!s:>5} {r.seconds:6.1f} s  {r.error or ''}".rstrip())


__all__ = ["handle"]
