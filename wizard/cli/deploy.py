"""`deploy-wizard deploy FILE --ref REF`: the release part of a recipe, headless, for a CI job.

Why it never asks: a CI job has nobody to answer. Secrets come from the environment (or files) the recipe's
references name, the host key must be pinned (in the recipe or the known-hosts file beside it) or accepted
with --accept-new-host-key, and a `prompt` secret or a sudo password to type is refused (exit 2) before
anything changes. Exit codes: 0 the commit is live (deployed now, or already), 1 the deploy failed (a release
that fails its health check never takes traffic, or is switched back: the live one keeps serving), 2 bad input
(the recipe, a flag, a ref that names nothing, a missing secret, a server never provisioned), 4 another deploy
of the app holds the lock.
"""

from __future__ import annotations

import argparse
import asyncio

from wizard.cli.common import err, load_recipe, questions
from wizard.engine.errors import ExitCode
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    """Pin the ref to a commit here, run the release steps on the server, say what is live."""
    from wizard.app.deploy import deploy, prepare
    from wizard.engine.sinks import ConsoleSink, JsonSink

    recipe = load_recipe(args)
    shipment = asyncio.run(prepare(recipe, args.ref))
    host = args.host or recipe.target.host
    if not args.json:
        err(_("Deploying {ref} (commit {commit}) to {host}: {steps}").format(
            ref=args.ref, commit=shipment.commit[:12], host=host, steps=", ".join(shipment.steps)))
    sink = JsonSink() if args.json else ConsoleSink(show_output=not args.quiet)
    result = asyncio.run(deploy(shipment, sink, questions(args, recipe, headless=True), host=args.host,
                                lock_wait=args.lock_wait))
    if args.json:
        return ExitCode.OK if result.ok else ExitCode.FAILED
    if result.journal:
        print(_("Journal: {path}").format(path=result.journal))
    if not result.ok:
        err(_("Deploy failed: {why}. The release that was live before keeps serving.").format(
            why=result.error or result.failed_step or "?"))
        return ExitCode.FAILED
    print(_("Live on {host}: release {release} ({ref})").format(host=host, release=shipment.commit[:12],
                                                                 ref=args.ref))
    return ExitCode.OK


__all__ = ["handle"]
