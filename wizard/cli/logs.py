"""`deploy-wizard logs FILE [--service S] [-f] [--since T] [--grep RE]`: read a service's logs from here.

Why the checks come first: an unknown service, a time journalctl would misread or a broken pattern is said
(exit 2) before a connection is made. Secrets are masked in every line; those the recipe names but this
machine cannot read (a `prompt`, a missing variable) are said, since their values cannot be masked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from wizard.cli.common import err, load_recipe, questions
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    """Check the question, connect, stream the lines (until Ctrl-C with -f); exit 1 when the server's command
    failed (no such log yet)."""
    from wizard.app import logs

    key = logs.service_key(args.service or ["app"])
    since = logs.parse_since(args.since)
    grep = logs.parse_grep(args.grep)
    recipe = load_recipe(args)
    logs.source_of(recipe, key)  # a service the recipe lacks: said before connecting

    def show(line: str) -> None:
        print(line, flush=args.follow)

    def unread(labels: list[str]) -> None:
        err(_("Not masked (not readable here): {labels}").format(labels=", ".join(labels)))

    status, errors = asyncio.run(logs.read_logs(recipe, questions(args, recipe), key, show, lines=args.lines,
                                                follow=args.follow, since=since, grep=grep, host=args.host,
                                                unread=unread))
    if errors:
        sys.stderr.write(errors)
    return ExitCode.OK if status == 0 else ExitCode.FAILED


__all__ = ["handle"]
