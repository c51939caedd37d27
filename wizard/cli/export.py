"""`deploy-wizard export FILE`: a runbook made offline, or a script/cloud-init/playbook from a recorded apply.

Why a recording: the exact changes a fresh server needs depend on facts only a server knows, so shell,
cloud-init and ansible first apply the recipe to a fresh, disposable server (--record-on) and write out what
that apply did. Any expected failure on the way is said as "export failed: why".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.cli.common import err, load_recipe, questions
from wizard.cli.confirm import confirm
from wizard.engine.errors import DeployWizardError, ExitCode, UsageError
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.recipefile import Recipe
    from wizard.app.recording import Recording


class ExportFailed(DeployWizardError):
    """A recorded export that could not be made; the message already says so ("export failed: ...")."""

    bare = True


def handle(args: argparse.Namespace) -> int:
    """Write the export to -o (atomically; a shell script executable) or print it."""
    from wizard.engine.fsutil import atomic_write_text

    recipe = load_recipe(args)
    if args.format == "container":
        return _container(args, recipe)
    if args.format == "runbook":
        from wizard.app.runbook import pin_commits, runbook

        pinned, note = pin_commits(recipe)
        text = runbook(recipe, args.file, pinned, note)
    else:
        recorded = _recorded_export(args, recipe)
        if recorded is None:
            return ExitCode.FAILED
        text = recorded
    if args.output:
        atomic_write_text(Path(args.output), text + "\n")
        if args.format == "shell":
            os.chmod(args.output, 0o755)
        print(_("Wrote {path}.").format(path=args.output))
    else:
        print(text)
    return ExitCode.OK


def _container(args: argparse.Namespace, recipe: Recipe) -> int:
    """The Containerfile, compose file, nginx site and database start script, written into -o DIR."""
    from wizard.app.exports.container import container_files
    from wizard.engine.fsutil import atomic_write_text

    if not args.output:
        raise UsageError(_("--format container writes several files: give -o DIR, a directory inside the app's "
                           "checkout (e.g. -o deploy)"))
    files = container_files(recipe, args.output)
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        atomic_write_text(folder / name, text, mode=0o755 if name.endswith(".sh") else 0o644)
    print(_("Wrote {files} in {path}. Build and start from the app's checkout: cd {path} && docker compose up "
            "--build (or podman-compose).").format(files=", ".join(files), path=folder))
    return ExitCode.OK


def _recorded_export(args: argparse.Namespace, recipe: Recipe) -> str | None:
    """Record a first apply (on a sandbox or the named host) and render it; None when the operator said no."""
    if not args.record_on:
        raise UsageError(_("--format {format} replays a recorded first apply: give --record-on HOST (a fresh "
                           "server you may change) or --record-on sandbox").format(format=args.format))
    if args.record_on == "sandbox":
        if recipe.target.port != 22:
            raise ExportFailed(_("the sandbox's SSH listens on port 22, the recipe uses {port}: record on a host of "
                                 "your own with --record-on HOST").format(port=recipe.target.port))
    elif not confirm(_("Apply the recipe to {host} to record it? It must be a fresh server you may change. "
                       "[y/N] ").format(host=args.record_on), yes=args.yes,
                     refusal=_("recording applies the recipe to {host}: add --yes when there is no terminal to "
                               "confirm on").format(host=args.record_on)):
        err(_("Nothing was changed."))
        return None
    try:
        return _record(args, recipe)
    except DeployWizardError as exc:
        raise ExportFailed(_("export failed: {why}").format(why=exc), exit_code=exc.exit_code) from exc


def _record(args: argparse.Namespace, recipe: Recipe) -> str:
    """The recording itself; a sandbox booted for it is removed afterwards, whatever happened."""
    from wizard.app.recording import record
    from wizard.engine.sinks import ConsoleSink
    from wizard.lab import sandbox

    box = None
    try:
        if args.record_on == "sandbox":
            box = sandbox.up(progress=err)
            target = recipe.target.model_copy(update={"host": box.ip, "user": "root", "key": box.key,
                                                      "host_key": None, "sudo_password": None})
            recipe = recipe.model_copy(update={"target": target})
        host = box.ip if box else args.record_on
        err(_("Recording a first apply on {host}...").format(host=host))
        sink = ConsoleSink(out=sys.stderr, show_output=False)
        recording = asyncio.run(record(recipe, host, sink, questions(args, recipe)))
        for note in recording.notes:
            err(_("note: {what}").format(what=note))
        return _render(args, recording)
    finally:
        if box is not None:
            sandbox.down(box.name, progress=lambda message: None)


def _render(args: argparse.Namespace, recording: Recording) -> str:
    if args.format == "ansible":
        from wizard.app.exports.ansible import playbook

        return playbook(recording, args.file)
    from wizard.app.exports.shell import shell_script

    script = shell_script(recording, args.file)
    if args.format == "cloud-init":
        from wizard.app.exports.cloudinit import user_data

        return user_data(recording, script)
    return script


__all__ = ["ExportFailed", "handle"]
