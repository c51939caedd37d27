"""The `deploy-wizard` command.

Exit codes: 0 success, 1 the run failed (or the server refused us), 2 bad input (a bad recipe file, a
bad flag, a missing secret), 3 drift found by `check`. Bad input never ends in a traceback: every expected
failure has a message.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from pathlib import Path

from wizard.engine import i18n
from wizard.engine.errors import DeployWizardError, ExitCode, UsageError
from wizard.engine.i18n import _

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DRIFT = ExitCode.OK, ExitCode.FAILED, ExitCode.BAD_INPUT, ExitCode.DRIFT


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploy-wizard",
        description=_("Provision a fresh Linux server for a Python web app over SSH, step by step, and save it as "
                      "a recipe file that replays on the same or other servers."),
        epilog=_("Start with a practice server: `deploy-wizard sandbox up`, then "
                 "`deploy-wizard apply examples/sandbox.yaml`."),
    )
    parser.add_argument("--lang", choices=["en", "zh_CN"], help=_("language of messages (default: from the locale)"))
    parser.add_argument("--version", action="store_true", help=_("print the version and exit"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def recipe_command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("file", help=_("the recipe file (YAML)"))
        p.add_argument("--host", action="append", dest="hosts", metavar="HOST",
                       help=_("run against this host instead of the recipe's target.host; repeat for several"))
        p.add_argument("--inventory", metavar="FILE", help=_("a YAML list of hosts to run the recipe on"))
        p.add_argument("--parallel", type=int, default=5, metavar="N",
                       help=_("with several hosts: how many at once (default 5)"))
        p.add_argument("--fail-fast", action="store_true",
                       help=_("with several hosts: start no more hosts after one fails"))
        p.add_argument("--set", action="append", default=[], metavar="STEP.FIELD=VALUE",
                       help=_("override a setting of the recipe for this run, e.g. --set code.ref=v1.2.0"))
        p.add_argument("--json", action="store_true", help=_("print one JSON event per line instead of a log"))
        p.add_argument("--accept-new-host-key", action="store_true",
                       help=_("trust a host key never seen before without asking (a changed key still stops)"))
        return p

    recipe_command("plan", _("show what apply would change, without changing anything (a dry run)"))
    recipe_command("check", _("drift check: compare the server with the recipe; exit 0 clean, 3 drift"))
    apply = recipe_command("apply", _("make the server match the recipe; a second apply changes nothing"))
    apply.add_argument("--yes", "-y", action="store_true", help=_("do not ask before applying (for CI)"))
    apply.add_argument("--quiet", "-q", action="store_true", help=_("hide command output, show steps only"))
    apply.add_argument("--resume", action="store_true",
                       help=_("after a dropped connection or a failure: skip the steps the last run completed"))

    back = sub.add_parser("rollback", help=_("switch the app back to an earlier release (database not reversed)"),
                          description=_("Point `current` at an earlier release and reload gunicorn. Database "
                                        "migrations are NOT reversed. The next apply deploys the recipe's ref again: "
                                        "pin `ref` to the old commit to stay on it."))
    back.add_argument("file", help=_("the recipe file (YAML)"))
    back.add_argument("--to", help=_("the release to switch to (default: the one before the current)"))
    back.add_argument("--host", help=_("run against this host instead of the recipe's target.host"))
    back.add_argument("--yes", "-y", action="store_true", help=_("do not ask before switching"))
    back.add_argument("--accept-new-host-key", action="store_true",
                      help=_("trust a host key never seen before without asking (a changed key still stops)"))
    back.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    export = sub.add_parser(
        "export", help=_("write a recipe out as a runbook, a bash script, cloud-init user-data or an Ansible playbook"),
        description=_("runbook: a Markdown handout, made offline. shell, cloud-init and ansible replay a real first "
                      "apply, recorded on a throwaway server (--record-on): every change with the test that skips "
                      "it when it is already in place. Secrets become environment variables, never file content."))
    export.add_argument("file", help=_("the recipe file (YAML)"))
    export.add_argument("--format", choices=["runbook", "shell", "cloud-init", "ansible"], default="runbook",
                        help=_("runbook: every step, why, its exact commands, how to verify, what to do if it fails"))
    export.add_argument("--record-on", metavar="HOST|sandbox",
                        help=_("for shell, cloud-init and ansible: a FRESH server the recipe is applied to first "
                               "(it is changed!), or 'sandbox' for a throwaway local one (needs root)"))
    export.add_argument("-o", "--output", help=_("write here instead of printing"))
    export.add_argument("--set", action="append", default=[], metavar="STEP.FIELD=VALUE",
                        help=_("override a setting of the recipe for this run, e.g. --set code.ref=v1.2.0"))
    export.add_argument("--yes", "-y", action="store_true",
                        help=_("do not ask before applying the recipe to the --record-on host"))
    export.add_argument("--accept-new-host-key", action="store_true",
                        help=_("trust a host key never seen before without asking (a changed key still stops)"))
    export.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("schema", help=_("print the JSON Schema of recipe files"))
    new = sub.add_parser("new", help=_("write a new recipe: the wizard, or plain questions with --plain"))
    new.add_argument("--plain", action="store_true", help=_("ask in the plain terminal (no full-screen UI)"))
    new.add_argument("-o", "--output", default="recipe.yaml", help=_("where to write the recipe"))
    edit = sub.add_parser("edit", help=_("open a recipe (or a draft) in the wizard"))
    edit.add_argument("file", help=_("the recipe file (YAML)"))

    sandbox = sub.add_parser("sandbox", help=_("a throwaway local Debian 12 server to practise on (needs root)"),
                             description=_("Boot throwaway Debian 12 servers on this machine with systemd-nspawn. "
                                           "Each `up` is a clean server with its own host key; `down` removes "
                                           "every trace. Needs Linux and root."))
    ss = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    up = ss.add_parser("up", help=_("boot a clean sandbox server"))
    up.add_argument("--name", help=_("name (default: sandbox<N>)"))
    down = ss.add_parser("down", help=_("stop sandboxes and remove them"))
    down.add_argument("names", nargs="*", help=_("which ones (default: all)"))
    ssh = ss.add_parser("ssh", help=_("open a shell on a sandbox (or run a command)"))
    ssh.add_argument("name", nargs="?", help=_("which one (default: the only one running)"))
    ssh.add_argument("--user", default="root", help=_("login user: root, admin (sudo) or ops (sudo with password)"))
    ssh.add_argument("cmd", nargs=argparse.REMAINDER, help=_("command to run instead of a shell"))
    status = ss.add_parser("status", help=_("list sandboxes"))
    status.add_argument("--json", action="store_true", help=_("machine-readable output"))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--lang" in argv:
        index = argv.index("--lang")
        if index + 1 < len(argv):
            i18n.set_language(argv[index + 1])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        print(f"deploy-wizard {version('deploy-wizard')}")
        return EXIT_OK
    try:
        if args.command in ("plan", "apply", "check"):
            return _run(args)
        if args.command == "rollback":
            return _rollback(args)
        if args.command == "export":
            return _export(args)
        if args.command == "schema":
            from wizard.app.recipefile import json_schema

            print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
            return EXIT_OK
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "new":
            return _new(args)
        if args.command == "edit" or (args.command is None and _interactive()):
            return _tui(Path(args.file) if args.command == "edit" else None)
    except DeployWizardError as exc:
        return _report(args, exc)
    except KeyboardInterrupt:
        print(_("Interrupted."), file=sys.stderr)
        return 130
    parser.print_help()
    return EXIT_OK


def _report(args: argparse.Namespace, exc: DeployWizardError) -> int:
    """The one place an expected failure becomes output and an exit code, so every command says it alike."""
    if exc.exit_code == ExitCode.FAILED and getattr(args, "json", False) and args.command in ("plan", "apply", "check"):
        # a run that failed is an event of the run; bad input is not, no run started
        print(json.dumps({"event": "error", "error": str(exc)}), flush=True)
    _err(str(exc) if exc.bare else _("Error: {why}").format(why=exc))
    return exc.exit_code


def _new(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if not args.plain:
        return _tui(output)
    if not sys.stdin.isatty():
        raise UsageError(_("--plain asks questions and needs a terminal."))
    from screens.plain import new_plain

    try:
        saved = new_plain(output)
    except KeyboardInterrupt:
        _err(_("Stopped; nothing was written."))
        return 130
    print(_("Wrote {path}. Try it: deploy-wizard plan {path}").format(path=saved))
    return EXIT_OK


def _tui(file: Path | None) -> int:
    if not _interactive():
        raise UsageError(_("The wizard needs a terminal; use `deploy-wizard apply FILE --yes` to replay a recipe "
                           "without one."))
    from screens.app import run_app

    return run_app(file)


# ------------------------------------------------------------------------------------------ plan/apply


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _questions(args: argparse.Namespace):  # noqa: ANN202 - returns session.Questions
    from wizard.app.session import Questions

    interactive = _interactive() and not args.json

    async def trust(host: str, port: int, fingerprint: str) -> bool:
        if args.accept_new_host_key:
            _err(_("Trusting the new host key of {host}: {fp}").format(host=host, fp=fingerprint))
            return True
        if not interactive:
            return False
        _err(_("The server {host} (port {port}) is not known yet. Its host key fingerprint is:\n  {fp}\n"
               "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server.").format(
                   host=host, port=port, fp=fingerprint))
        answer = await asyncio.to_thread(input, _("Trust this key and continue? [y/N] "))
        return answer.strip().lower() in ("y", "yes")

    async def sudo_password(prompt: str) -> str | None:
        if not interactive:
            return None
        return await asyncio.to_thread(getpass.getpass, prompt + ": ")

    def secret(label: str) -> str | None:
        return getpass.getpass(label + ": ") if interactive else None

    async def operator(step: str, message: str) -> bool:
        if not interactive:
            return False
        _err(f"\n[{step}] {message}")
        answer = await asyncio.to_thread(input, _("Press Enter when done (or type 'abort'): "))
        return answer.strip().lower() != "abort"

    return Questions(trust_host_key=trust, sudo_password=sudo_password, secret=secret, operator=operator)


def _load(args: argparse.Namespace):  # noqa: ANN202 - Recipe
    """The recipe file with the command line's --set overrides; RecipeError (exit 2) when it cannot be used."""
    from wizard.app.recipefile import load, with_overrides

    return with_overrides(load(args.file), getattr(args, "set", []))


def _run(args: argparse.Namespace) -> int:
    from wizard.app.session import run_recipe
    from wizard.engine.sinks import ConsoleSink, JsonSink

    recipe = _load(args)
    if not recipe.selected():
        raise UsageError(_("{file}: the recipe has no steps; add at least one under 'steps:'").format(file=args.file))
    from wizard.app.fleet import read_inventory
    from wizard.app.recipefile import host_name

    hosts = list(args.hosts or [])
    try:
        for host in hosts:
            host_name(host)
        if args.inventory:
            hosts += read_inventory(Path(args.inventory))
    except ValueError as exc:
        raise UsageError(f"--host: {exc}") from None
    if len(hosts) > 1:
        return _fleet(args, recipe, list(dict.fromkeys(hosts)))
    args.host = hosts[0] if hosts else None
    questions = _questions(args)
    sink = JsonSink() if args.json else ConsoleSink(show_output=not getattr(args, "quiet", False))
    mode = args.command
    if mode == "apply" and not args.yes:
        if not _interactive():
            raise UsageError(_("apply needs --yes when there is no terminal to confirm on."))
        planned = asyncio.run(run_recipe(recipe, "plan", sink, questions, host=args.host))
        if not planned.ok:
            return EXIT_FAILED
        if planned.changes == 0:
            print(_("Nothing to change: the server already matches the recipe."))
            return EXIT_OK
        answer = input(_("Apply these {n} changes? [y/N] ").format(n=planned.changes))
        if answer.strip().lower() not in ("y", "yes"):
            print(_("Nothing was changed."))
            return EXIT_OK
    result = asyncio.run(run_recipe(recipe, mode, sink, questions, host=args.host,
                                    resume=getattr(args, "resume", False)))
    if result.journal and not args.json:
        print(_("Journal: {path}").format(path=result.journal))
    if mode == "check" and result.ok:
        if not args.json:
            print(_("Drift: {n} differences in {steps}").format(n=result.changes, steps=", ".join(
                result.changed_steps)) if result.changes else _("No drift: the server matches the recipe."))
        return EXIT_DRIFT if result.changes else EXIT_OK
    return EXIT_OK if result.ok else EXIT_FAILED


def _fleet(args: argparse.Namespace, recipe: object, hosts: list[str]) -> int:
    from wizard.app.fleet import run_fleet
    from wizard.engine.sinks import ConsoleSink, JsonSink

    if args.command == "apply" and not args.yes:
        if not _interactive():
            raise UsageError(_("apply needs --yes when there is no terminal to confirm on."))
        if input(_("Apply the recipe to {n} hosts? [y/N] ").format(n=len(hosts))).strip().lower() not in ("y", "yes"):
            print(_("Nothing was changed."))
            return EXIT_OK

    def sink_for(host: str):  # noqa: ANN202
        if args.json:
            return JsonSink(host=host)
        return ConsoleSink(show_output=not getattr(args, "quiet", False), prefix=f"[{host}] ")

    results = asyncio.run(run_fleet(recipe, args.command, hosts, sink_for, _questions(args),  # type: ignore[arg-type]
                                    parallel=args.parallel, fail_fast=args.fail_fast))
    if args.json:
        for r in results:
            print(json.dumps({"event": "host_result", "host": r.host, "status": r.status, "error": r.error,
                              "changes": r.result.changes if r.result else None, "seconds": round(r.seconds, 2)}),
                  flush=True)
    else:
        print(_("Results:"))
        for r in results:
            changes = r.result.changes if r.result else "-"
            print(f"  {r.host:30} {r.status:12} {changes!s:>5} {r.seconds:6.1f} s  {r.error or ''}".rstrip())
    failed = [r for r in results if r.status != "ok"]
    if args.command == "check" and not failed:
        return EXIT_DRIFT if any(r.result and r.result.changes for r in results) else EXIT_OK
    return EXIT_FAILED if failed else EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from wizard.engine.fsutil import atomic_write_text

    recipe = _load(args)
    if args.format == "runbook":
        from wizard.app.runbook import runbook

        text = runbook(recipe, args.file)
    else:
        if not args.record_on:
            raise UsageError(_("--format {format} replays a recorded first apply: give --record-on HOST (a fresh "
                               "server you may change) or --record-on sandbox").format(format=args.format))
        text = _recorded_export(args, recipe)
        if text is None:
            return EXIT_FAILED
    if args.output:
        atomic_write_text(Path(args.output), text + "\n")
        if args.format == "shell":
            os.chmod(args.output, 0o755)
        print(_("Wrote {path}.").format(path=args.output))
    else:
        print(text)
    return EXIT_OK


def _recorded_export(args: argparse.Namespace, recipe) -> str | None:  # noqa: ANN001 - Recipe
    """Record a first apply (on a sandbox or the named host) and render it; None when the operator said no.

    Every expected failure on the way is said as "export failed: why" (exit 1), whatever its kind.
    """
    from wizard.app.recording import record
    from wizard.engine.sinks import ConsoleSink
    from wizard.lab import sandbox

    sink = ConsoleSink(out=sys.stderr, show_output=False)
    box = None
    try:
        if args.record_on == "sandbox":
            if recipe.target.port != 22:
                _err(_("the sandbox's SSH listens on port 22, the recipe uses {port}: record on a host of your own "
                       "with --record-on HOST").format(port=recipe.target.port))
                return None
            box = sandbox.up(progress=_err)
            target = recipe.target.model_copy(update={"host": box.ip, "user": "root", "key": box.key,
                                                      "host_key": None, "sudo_password": None})
            recipe = recipe.model_copy(update={"target": target})
        elif not args.yes:
            if not _interactive():
                _err(_("recording applies the recipe to {host}: add --yes when there is no terminal to confirm "
                       "on").format(host=args.record_on))
                return None
            if input(_("Apply the recipe to {host} to record it? It must be a fresh server you may change. "
                       "[y/N] ").format(host=args.record_on)).strip().lower() not in ("y", "yes"):
                _err(_("Nothing was changed."))
                return None
        host = box.ip if box else args.record_on
        _err(_("Recording a first apply on {host}...").format(host=host))
        recording = asyncio.run(record(recipe, host, sink, _questions(args)))
        for note in recording.notes:
            _err(_("note: {what}").format(what=note))
        return _render_export(args, recording)
    except (DeployWizardError, sandbox.SandboxError) as exc:  # SandboxError: until wizard/lab derives it
        raise _ExportFailed(_("export failed: {why}").format(why=exc),
                            exit_code=getattr(exc, "exit_code", ExitCode.FAILED)) from exc
    finally:
        if box is not None:
            sandbox.down(box.name, progress=lambda message: None)


class _ExportFailed(DeployWizardError):
    """A recorded export that could not be made; the message already says so ("export failed: ...")."""

    bare = True


def _render_export(args: argparse.Namespace, recording) -> str:  # noqa: ANN001 - Recording
    if args.format == "ansible":
        from wizard.app.exports.ansible import playbook

        return playbook(recording, args.file)
    from wizard.app.exports.shell import shell_script

    script = shell_script(recording, args.file)
    if args.format == "cloud-init":
        from wizard.app.exports.cloudinit import user_data

        return user_data(recording, script)
    return script


def _rollback(args: argparse.Namespace) -> int:
    from wizard.app.rollback import RollbackError, rollback
    from wizard.app.session import make_transport
    from wizard.engine.commands import Masker

    recipe = _load(args)
    print(_("Note: rollback switches the code only. Database migrations of the newer release are NOT reversed."))
    if not args.yes:
        if not _interactive():
            raise UsageError(_("rollback needs --yes when there is no terminal to confirm on."))
        if input(_("Switch {host} to an earlier release? [y/N] ").format(
                host=args.host or recipe.target.host)).strip().lower() not in ("y", "yes"):
            print(_("Nothing was changed."))
            return EXIT_OK

    async def go():  # noqa: ANN202
        transport = make_transport(recipe, _questions(args), Masker(), args.host)
        try:
            await transport.connect()
            return await rollback(transport, recipe, args.to)
        finally:
            await transport.close()

    try:
        done = asyncio.run(go())
    except RollbackError as exc:
        if args.to:  # the release the operator named cannot be switched to: bad input, as always
            raise DeployWizardError(str(exc), exit_code=ExitCode.BAD_INPUT) from exc
        raise
    if done.before == done.after:
        print(_("{rel} is already the current release.").format(rel=done.after))
    else:
        print(_("current: {old} -> {new}; gunicorn reloaded. Releases on the server: {all}").format(
            old=done.before, new=done.after, all=", ".join(done.releases)))
    return EXIT_OK


# ------------------------------------------------------------------------------------------ sandbox


def _sandbox(args: argparse.Namespace) -> int:
    from wizard.lab import sandbox

    try:
        if args.sandbox_command == "status":
            found = sandbox.list_sandboxes()
            if args.json:
                print(json.dumps([{**s.__dict__, "running": sandbox.is_running(s.name)} for s in found], indent=2))
            elif not found:
                print(_("No sandboxes. Start one with `deploy-wizard sandbox up`."))
            for info in found if not args.json else []:
                state = _("running") if sandbox.is_running(info.name) else _("stopped")
                print(f"{info.name:12} {state:8} {info.ip}:{info.port}  {info.fingerprint}")
            return EXIT_OK
        sandbox.check_host()
        if args.sandbox_command == "up":
            info = sandbox.up(args.name, progress=lambda m: print(m, flush=True))
            print(_("""
Sandbox {name} is up: a clean Debian 12 server with systemd and sshd.
  address   {ip} (port {port})
  logins    root, admin (passwordless sudo), ops (sudo asks a password: {pw})
  key       {key}
  host key  {fp} (already trusted by deploy-wizard)
Try:  deploy-wizard sandbox ssh {name}
      deploy-wizard apply examples/sandbox.yaml --host {ip}
Stop: deploy-wizard sandbox down {name}""").format(name=info.name, ip=info.ip, port=info.port, key=info.key,
                                                     fp=info.fingerprint, pw=sandbox.OPS_PASSWORD))
            return EXIT_OK
        if args.sandbox_command == "down":
            names = args.names or [s.name for s in sandbox.list_sandboxes()]
            if not names:
                print(_("No sandboxes to stop."))
            for name in names:
                sandbox.down(name)
            return EXIT_OK
        if args.sandbox_command == "ssh":
            name = args.name
            if name is None:
                running = [s.name for s in sandbox.list_sandboxes()]
                if len(running) != 1:
                    raise UsageError(_("Name the sandbox: {names}").format(
                        names=", ".join(running) or _("none running")))
                name = running[0]
            command = sandbox.ssh_command(name, args.user, args.cmd)
            os.execvp(command[0], command)
    except sandbox.SandboxError as exc:  # until SandboxError derives from DeployWizardError (wizard/lab)
        if isinstance(exc, DeployWizardError):
            raise
        raise DeployWizardError(str(exc)) from exc
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
