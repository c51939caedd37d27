"""`deploy-wizard sandbox up|down|ssh|status`: throwaway local Debian servers to practise on.

Why a thin handler: wizard.lab does the work and says what went wrong (its SandboxError is a
DeployWizardError with its own exit code, reported by `main` like any other); this only prints.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable

from wizard.engine.errors import ExitCode, UsageError
from wizard.engine.i18n import _


def handle(args: argparse.Namespace) -> int:
    """Run one sandbox action; status needs neither root nor Linux, the others check the host first."""
    from wizard.lab import sandbox

    actions: dict[str, Callable[[argparse.Namespace], int]] = {"up": _up, "down": _down, "ssh": _ssh}
    if args.sandbox_command == "status":
        return _status(args)
    sandbox.check_host()
    return actions[args.sandbox_command](args)


def _status(args: argparse.Namespace) -> int:
    from wizard.lab import sandbox

    found = sandbox.list_sandboxes()
    if args.json:
        print(json.dumps([{**s.__dict__, "running": sandbox.is_running(s.name)} for s in found], indent=2))
        return ExitCode.OK
    if not found:
        print(_("No sandboxes. Start one with `deploy-wizard sandbox up`."))
    for info in found:
        state = _("running") if sandbox.is_running(info.name) else _("stopped")
        print(f"{info.name:12} {state:8} {info.release:9} {info.ip}:{info.port}  {info.fingerprint}")
    return ExitCode.OK


def _up(args: argparse.Namespace) -> int:
    from wizard.lab import sandbox

    info = sandbox.up(args.name, progress=lambda m: print(m, flush=True), release=args.release, lab=args.lab,
                      domains=tuple(args.domain))
    print(_("""
Sandbox {name} is up: a clean {release} server with systemd and sshd.
  address   {ip} (port {port})
  logins    root, admin (passwordless sudo), ops (sudo asks a password: {pw})
  key       {key}
  host key  {fp} (already trusted by deploy-wizard)""").format(
        name=info.name, release=sandbox.describe(info.release), ip=info.ip, port=info.port, key=info.key,
        fp=info.fingerprint, pw=sandbox.OPS_PASSWORD))
    lab = sandbox.practice.load(sandbox.lab_dir(info.name)) if args.lab else None
    if lab is None:
        print(_("""Try:  deploy-wizard sandbox ssh {name}
      deploy-wizard apply examples/sandbox.yaml --host {ip}""").format(name=info.name, ip=info.ip))
    else:
        # The example recipes name the first sandbox's addresses; any other sandbox needs them overridden.
        where = "" if info.index == 1 else (
            f" --host {info.ip} --set code.repo={lab.git_url}/demo.git --set tls.acme_server={lab.acme_directory}")
        print(_("""
The practice lab runs beside it (and stops with it):
  git       {git}/demo.git (examples/flask-app) and {git}/shop.git (examples/django-app);
            change the app in {work} and `git commit -a && git push lab main`, then apply again
  test CA   {acme} (Debian's pebble, standing in for Let's Encrypt); the server trusts it and
            resolves {names} to itself
Run the whole tutorial on it:
  DEMO_DB_PASSWORD=choose-one deploy-wizard apply examples/flask-app.yaml --yes{where}
  curl --cacert {ca} https://demo.example.test/ --resolve demo.example.test:443:{ip}""").format(
            git=lab.git_url, work=lab.work_tree("demo"), acme=lab.acme_directory, where=where, ca=lab.ca_file,
            ip=info.ip, names=", ".join(sandbox.practice.resolved(tuple(args.domain)))))
        print(_("The Django example (examples/django-app, work tree {work}) the same way, with a SECRET_KEY\n"
                "of 50 characters or more, chosen once and kept (a new one logs every user out):\n"
                "  export SHOP_SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\"\n"
                "  SHOP_DB_PASSWORD=choose-one deploy-wizard apply examples/django-app.yaml --yes{where}\n"
                "  curl --cacert {ca} https://shop.example.test/ --resolve shop.example.test:443:{ip}").format(
            work=lab.work_tree("shop"), where=where.replace("/demo.git", "/shop.git"), ca=lab.ca_file, ip=info.ip))
        print(_("Your own project: `git clone --bare PATH {bare}` serves it as {git}/REPO.git\n"
                "  (the recipe's code.repo; push new commits there). Its site's name (nginx.server_names, tls.domain)\n"
                "  must resolve on the server: the names above do; for another, take this sandbox down and boot it\n"
                "  again with `deploy-wizard sandbox up --lab --domain YOUR.DOMAIN`.").format(
            bare=lab.bare("REPO"), git=lab.git_url))
    print(_("Stop: deploy-wizard sandbox down {name}").format(name=info.name))
    return ExitCode.OK


def _down(args: argparse.Namespace) -> int:
    from wizard.lab import sandbox

    running = [s.name for s in sandbox.list_sandboxes()]
    if args.names and args.all:
        raise UsageError(_("Name sandboxes or give --all, not both"))
    if not args.names and not args.all and running:  # never every sandbox by accident
        raise UsageError(_("Name the sandboxes to stop ({names}), or give --all").format(names=", ".join(running)))
    names = args.names or running
    if not names:
        print(_("No sandboxes to stop."))
    for name in names:
        sandbox.down(name)
    return ExitCode.OK


def ssh_options(user: str, command: list[str]) -> tuple[str, list[str]]:
    """`sandbox ssh NAME --user U CMD` (the README's order): argparse hands everything after NAME to the command,
    so a leading --user is taken back here; a leading `--` only separates."""
    while command and (command[0] == "--user" or command[0].startswith("--user=")):
        if command[0] == "--user":
            if len(command) < 2:
                raise UsageError(_("--user needs a user name"))
            user, command = command[1], command[2:]
        else:
            user, command = command[0].split("=", 1)[1], command[1:]
    return user, command[1:] if command[:1] == ["--"] else command


def _ssh(args: argparse.Namespace) -> int:
    """Replace this process with ssh (a real terminal session); returns only when there is nothing to log into."""
    from wizard.lab import sandbox

    name = args.name
    user, command = ssh_options(args.user, list(args.cmd))
    if name is None:
        running = [s.name for s in sandbox.list_sandboxes()]
        if len(running) != 1:
            raise UsageError(_("Name the sandbox: {names}").format(names=", ".join(running) or _("none running")))
        name = running[0]
    line = sandbox.ssh_command(name, user, command)
    os.execvp(line[0], line)
    return ExitCode.OK  # pragma: no cover - execvp does not return


__all__ = ["handle"]
