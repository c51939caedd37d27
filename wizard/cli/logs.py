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
    from wizard.app.session import make_transport

    key = logs.service_key(args.service or ["app"])
    since = logs.parse_since(args.since)
    grep = logs.parse_grep(args.grep)
    recipe = load_recipe(args)
    source = logs.source_of(recipe, key)
    masker, unread = logs.masker_for(recipe)
    if unread:
        err(_("Not masked (not readable here): {labels}").format(labels=", ".join(unread)))
    command = logs.command(source, lines=args.lines, follow=args.follow, since=since)

    def show(line: str) -> None:
        print(line, flush=args.follow)

    lines = logs.LineFilter(masker, show, grep=grep, cutoff=since.cutoff if since and source.files else None)
    errors: list[str] = []

    def output(stream: str, text: str) -> None:
        if stream == "stdout":
            lines.feed(text)
        else:
            errors.append(masker(text))

    async def go() -> int:
        transport = make_transport(recipe, questions(args, recipe), masker, args.host)
        try:
            await transport.connect()
            result = await transport.run(command, on_output=output, timeout=logs.FOREVER if args.follow else 300)
            return result.exit_status
        finally:
            await transport.close()

    status = asyncio.run(go())
    lines.close()
    if errors:
        sys.stderr.write("".join(errors))
    return ExitCode.OK if status == 0 else ExitCode.FAILED


__all__ = ["handle"]
