"""The `deploy-wizard` command: chooses the language, parses the command line, runs one handler.

Exit codes (wizard.engine.errors.ExitCode): 0 success, 1 the run failed (or the server refused us), 2 bad input
(a bad recipe file, a bad flag, a missing secret), 3 drift found by `check`, 4 another apply or rollback of
the app holds its deploy lock on the server; `run` ends with its command's
own code once connected. Bad input never ends in a
traceback: every expected failure is a DeployWizardError, and `main` is the one place that turns it into a
message and an exit code. The flags live in wizard.cli.parser, each command in its own module; the screens are
imported only inside the handlers that show them.

Why the command modules and the parser load only when needed: a bare `deploy-wizard` in a terminal (the way most
people start it) opens the wizard, and every millisecond before its first screen is one the person waits. It
needs neither the parser's ~30 subcommands nor the modules of commands it does not run.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from importlib import import_module

from wizard.cli.common import err
from wizard.cli.confirm import interactive
from wizard.engine import i18n
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _

Handler = Callable[[argparse.Namespace], int]
# each command's handler as (module in wizard.cli, function): imported when that command runs
HANDLERS: dict[str, tuple[str, str]] = {
    "plan": ("run", "handle"), "apply": ("run", "handle"), "check": ("run", "handle"),
    "deploy": ("deploy", "handle"), "rollback": ("rollback", "handle"), "export": ("export", "handle"),
    "schema": ("schema", "handle"), "sandbox": ("sandbox", "handle"), "logs": ("logs", "handle"),
    "new": ("new_edit", "handle"), "edit": ("new_edit", "handle"), "run": ("oneoff", "handle"),
    "verify": ("verify", "handle"), "unlock": ("unlock", "handle"), "maintenance": ("maintenance", "handle"),
    "drafts": ("drafts", "handle"), "learn": ("learn", "handle"),
    "backup": ("backup", "handle_backup"), "restore": ("backup", "handle_restore"),
}
# a bare `deploy-wizard` (a language at most): what the parser would read from it, without building the parser
BARE = {(): None, ("--lang", "en"): "en", ("--lang", "zh_CN"): "zh_CN"}
RUN_COMMANDS = ("plan", "apply", "check", "deploy")  # their --json output is a stream of events


def main(argv: list[str] | None = None) -> int:
    """The console script `deploy-wizard`; returns the exit code."""
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    finally:
        if argv is None:  # the process's own command line: it exits next
            # What is left is the interpreter's exit, whose last garbage collections walk every object the imports
            # made (the steps' models, asyncssh, pydantic): about 80 ms of a 1 s no-op apply. Frozen, they are
            # skipped; modules are still torn down, files flushed and closed, atexit handlers run. Not for a call
            # with its own arguments (tests, a caller in the same process), whose process goes on.
            gc.freeze()


def _main(argv: list[str]) -> int:
    """Parse and run; a bare `deploy-wizard` in a terminal opens the wizard without building the parser."""
    if tuple(argv) in BARE and interactive():  # the wizard, as the parser would have found: no need to build it
        lang = BARE[tuple(argv)]
        if lang is not None:
            i18n.set_language(lang)
        return _run(argparse.Namespace(command=None, lang=lang, version=False, remote_command=[]))
    from wizard.cli.parser import build_parser, split_command

    argv, remote_command = split_command(argv)  # `run ... -- CMD`
    if "--lang" in argv:  # before the parser exists: its help texts are translated when it is built
        index = argv.index("--lang")
        if index + 1 < len(argv):
            i18n.set_language(argv[index + 1])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.remote_command = remote_command
    if args.version:
        from importlib.metadata import version

        print(f"deploy-wizard {version('deploy-wizard')}")
        return ExitCode.OK
    if args.command is None and not interactive():  # a bare command in a script: what there is to do
        _expire_drafts()
        parser.print_help()
        return ExitCode.OK
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Expire old drafts, then run the command's handler (a bare `deploy-wizard`: the wizard)."""
    _expire_drafts()
    handler = _handler(args)
    try:
        return int(handler(args))
    except DeployWizardError as exc:
        return report(args, exc)
    except KeyboardInterrupt:
        err(_("Interrupted."))
        return 130


def _expire_drafts() -> None:
    """Delete the drafts nobody touched for 30 days, and say so (wizard.app.draftfiles); never in the way of the
    command itself."""
    from wizard.app import draftfiles

    try:
        gone = draftfiles.expire()
    except OSError:
        return
    if gone:
        err(draftfiles.expired_notice(gone))


def _handler(args: argparse.Namespace) -> Handler:
    """The command's handler, its module imported now; a bare `deploy-wizard` (in a terminal) opens the wizard."""
    module, function = HANDLERS[args.command or "edit"]
    handler: Handler = getattr(import_module(f"wizard.cli.{module}"), function)
    return handler


def report(args: argparse.Namespace, exc: DeployWizardError) -> int:
    """Say an expected failure and return its exit code, the same way for every command.

    A message that already says where the problem is (bare) is printed as it is, any other is headed "Error:".
    A failed plan/apply/check with --json also ends its event stream with an error event; bad input does not,
    as no run started.
    """
    if exc.exit_code == ExitCode.FAILED and getattr(args, "json", False) and args.command in RUN_COMMANDS:
        import json

        print(json.dumps({"event": "error", "error": str(exc)}), flush=True)
    err(str(exc) if exc.bare else _("Error: {why}").format(why=exc))
    return int(exc.exit_code)


__all__ = ["main", "report"]
