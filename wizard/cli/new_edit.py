"""`deploy-wizard`, `deploy-wizard new` and `deploy-wizard edit [FILE]`: the wizard, or plain questions.

Why the screens are imported here, inside the handlers: the UI libraries (Textual, questionary) are loaded only
when a person is about to use them, so headless replays, CI and exports never pay for (or need) them.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from wizard.cli.common import err
from wizard.cli.confirm import interactive
from wizard.engine.errors import ExitCode, UsageError
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    """`new` writes a recipe; `edit` (and no command at all, in a terminal) opens the wizard."""
    if args.command == "new":
        return new(args)
    if args.command == "edit":
        return wizard(Path(args.file) if args.file else latest())
    return wizard(None)


def latest() -> Path:
    """`edit` without a file: the draft saved last (quitting the wizard, or a crash, leaves one)."""
    from wizard.app.draft import drafts_dir, latest_draft

    path = latest_draft()
    if path is None:
        raise UsageError(_("No draft in {folder} yet: `deploy-wizard` starts a new recipe, `deploy-wizard edit FILE` "
                           "opens a recipe file.").format(folder=drafts_dir()))
    return path


def new(args: argparse.Namespace) -> int:
    """A new recipe: in the wizard, or with --plain as questions in any terminal (same questions, same checks)."""
    output = Path(args.output)
    if not args.plain:
        return wizard(output)
    if not sys.stdin.isatty():
        raise UsageError(_("--plain asks questions and needs a terminal."))
    from screens.plain import new_plain

    try:
        saved = new_plain(output)
    except KeyboardInterrupt:
        err(_("Stopped; nothing was written."))
        return 130
    except OSError as exc:  # where to write it: a missing directory, no permission (said in words, no errno)
        from wizard.engine.fsutil import why_not_written

        raise UsageError(_("Cannot save {path}: {why}").format(path=output, why=why_not_written(exc))) from None
    print(_("Wrote {path}. Try it: deploy-wizard plan {path}").format(path=saved))
    return ExitCode.OK


def wizard(file: Path | None) -> int:
    """The full-screen wizard on `file` (a recipe, a draft, or where to write a new one)."""
    if not interactive():
        raise UsageError(_("The wizard needs a terminal; use `deploy-wizard apply FILE --yes` to replay a recipe "
                           "without one."))
    # Importing Textual and drawing the first screen allocate some 90,000 objects the collector tracks, nearly
    # all of them living as long as the wizard: each automatic collection walked them again (about 20 ms of the
    # first paint). The collector is paused until the first screen is on the terminal (WizardApp.on_mount resumes
    # it), and at the latest when the wizard ends.
    gc.disable()
    try:
        from screens.app import run_app

        return run_app(file)
    finally:
        gc.enable()


__all__ = ["handle", "new", "wizard"]
