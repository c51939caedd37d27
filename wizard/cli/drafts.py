"""`deploy-wizard drafts [list]` and `deploy-wizard drafts delete ID...|--all`: the wizard's drafts on this machine.

Why a command: drafts are kept through quits and crashes, one per new recipe or recipe file, so they pile up;
the operator sees each one's id, age and recipe, and deletes the ones that are done with. Drafts untouched for
30 days go by themselves at the next start (wizard.app.draftfiles), and that is said too.
"""

from __future__ import annotations

import argparse

from wizard.engine.errors import ExitCode, UsageError
from wizard.engine.i18n import _, n_


def handle(args: argparse.Namespace) -> int:
    from wizard.app import draftfiles

    if getattr(args, "drafts_command", None) == "delete":
        if args.all == bool(args.ids):
            raise UsageError(_("drafts delete: name the drafts to delete (their ids), or --all"))
        gone = draftfiles.delete_all() if args.all else draftfiles.delete(args.ids)
        print(n_("Deleted {n} draft.", "Deleted {n} drafts.", len(gone)).format(n=len(gone)))
        return ExitCode.OK
    rows = draftfiles.listing()
    if not rows:
        print(_("No drafts in {path}.").format(path=draftfiles.drafts_dir()))
        return ExitCode.OK
    from rich.cells import cell_len

    heads = (_("id"), _("age"), _("recipe"), _("recipe file"))
    new = _("(new: not saved yet)")
    table = [heads, *((row.key, row.age, row.recipe, row.file or new) for row in rows)]
    widths = [max(cell_len(line[column]) for line in table) for column in range(3)]
    for line in table:  # the file last: a long path runs on without pushing the other columns apart
        print("  ".join(text + " " * (width - cell_len(text)) for text, width in zip(line, widths, strict=False))
              + "  " + line[3])
    print(_("In {path}; drafts not changed for {days} days are deleted at the next start.").format(
        path=draftfiles.drafts_dir(), days=draftfiles.DRAFT_DAYS))
    return ExitCode.OK


__all__ = ["handle"]
