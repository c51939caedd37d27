"""The command line of `backup` and `restore` (wizard/cli/backup.py handles them), with the parser's own flags."""

from __future__ import annotations

import argparse

from wizard.cli.argwords import described
from wizard.cli.parser import _one_host, _seconds, _yes
from wizard.engine.i18n import _


def add_backups(sub: argparse._SubParsersAction, recipe_file: argparse.ArgumentParser,
                 trust: argparse.ArgumentParser, quiet_json: argparse.ArgumentParser) -> None:
    """`backup FILE [--list|--drill [SET]]` and `restore FILE --from SET`: the backups step's scripts, now."""
    help_text = _("take a backup of the app's database and uploads now (the backups step's script)")
    backup = sub.add_parser("backup", help=help_text, description=described(help_text, _(
        "The same backup the timer takes: free space checked first, written to a temporary name, read back and "
        "counted, then kept and rotated. --list lists the sets kept; --drill restores the newest (or SET) into "
        "a scratch database and compares its rows with the counts taken with the dump")),
        parents=[recipe_file, _one_host(), trust, quiet_json])
    what = backup.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help=_("list the backup sets on the server, oldest first"))
    what.add_argument("--drill", nargs="?", const="", metavar="SET",
                      help=_("run the restore drill now, on SET or the newest set"))
    help_text = _("restore the app's database and uploads from a backup set (asks first)")
    restore = sub.add_parser("restore", help=help_text, description=described(help_text, _(
        "Stops the app, its workers, jobs and backup timers, restores the database (PostgreSQL: in one "
        "transaction, so a failed restore changes nothing) and the uploads, runs the migrations, and starts "
        "what it stopped again, even after a failure. --from offsite:latest (or offsite:SET) first brings the "
        "set back from the off-server copy (backups.offsite_target), e.g. onto a server rebuilt from the recipe")),
        parents=[recipe_file, _one_host(), _yes(_("do not ask before restoring")), trust, quiet_json])
    restore.add_argument("--from", dest="dump", required=True, metavar="SET",
                         help=_("the backup set, as `deploy-wizard backup FILE --list` shows it; offsite:latest or "
                                "offsite:SET takes it from the off-server copy"))
    restore.add_argument("--lock-wait", type=_seconds, default=0, metavar="SECONDS",
                         help=_("when another apply or rollback of this app runs on the server, wait up to this "
                                "long for it (default: refuse at once, saying who holds the lock)"))


__all__ = ["add_backups"]
