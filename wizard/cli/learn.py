"""`deploy-wizard learn`: the tutorial's steps as exercises on a practice server, graded by the steps themselves.

Why a command with small actions (start, show, check, hint, do, drill, summary, stop) and no terminal widget:
the learner types in their own shell on the server (`deploy-wizard sandbox ssh`) and comes back here between
tries; every action reads the saved progress, does one thing, saves, and says what comes next. Closing the
terminal loses nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.cli.common import err
from wizard.cli.confirm import interactive
from wizard.engine.errors import UsageError
from wizard.engine.i18n import _

if TYPE_CHECKING:
    from wizard.app.learn.progress import Progress

ACTIONS = ("start", "show", "check", "hint", "do", "next", "goto", "drill", "summary", "stop")
SANDBOX = "learn"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from wizard.cli.argwords import described
    from wizard.lab.image import DEFAULT_RELEASE, RELEASES

    help_text = _("learn by doing: the tutorial's steps as exercises on a practice server, graded on meaning")
    learn = sub.add_parser("learn", help=help_text, description=described(help_text, _(
        "Without an action it starts a course (booting a practice sandbox) or goes on with yours. You work in a "
        "second terminal (`deploy-wizard sandbox ssh learn`); `check` grades the step with its own checks, `hint` "
        "gives a hint (vaguest first, the exact commands last), `do` lets the tool do the rest of the step and "
        "shows how your work differed, `drill NAME` breaks something for you to find and fix, `summary` writes "
        "the trainer's summary as Markdown. Progress is saved after every action.")))
    learn.add_argument("action", nargs="?", default="start", choices=ACTIONS, help=_("what to do (default: start)"))
    learn.add_argument("name", nargs="?", help=_("goto: the step; drill: the drill"))
    learn.add_argument("--learner", help=_("whose progress (default: your login name)"))
    learn.add_argument("--host", help=_("practise on this disposable server of yours instead of a sandbox "
                                        "(with --recipe; it asks you to type the host name first)"))
    learn.add_argument("--recipe", type=Path, help=_("your recipe for the server of --host (needed with it)"))
    learn.add_argument("--confirm-host", help=_("the host name, typed in advance for --host (no terminal)"))
    learn.add_argument("--sandbox", default=SANDBOX, help=_("the practice sandbox's name (default: learn)"))
    learn.add_argument("--release", choices=list(RELEASES), default=DEFAULT_RELEASE,
                       help=_("the sandbox's Debian release"))
    learn.add_argument("--yes", action="store_true", help=_("`do`: no question before the tool changes the server"))
    learn.add_argument("--json", action="store_true", help=_("`check`: the grade as JSON"))
    learn.add_argument("-o", "--output", type=Path, help=_("`summary`: write the Markdown to this file"))
    learn.add_argument("--accept-new-host-key", action="store_true", help=_("trust a host key never seen (--host)"))


def _learner(args: argparse.Namespace) -> str:
    import getpass

    from wizard.app.learn.progress import learner_name

    return learner_name(args.learner or getpass.getuser().lower())


def handle(args: argparse.Namespace) -> int:
    from wizard.app.learn import progress as store

    learner = _learner(args)
    saved = store.load(learner)
    if args.action == "start":
        return _start(args, learner, saved)
    if saved is None:
        raise UsageError(_("No course for {learner} yet: start one with `deploy-wizard learn`").format(learner=learner))
    from wizard.cli import learn_actions

    return learn_actions.run(args, saved)


def _start(args: argparse.Namespace, learner: str, saved: Progress | None) -> int:
    from wizard.app.learn import progress as store
    from wizard.cli import learn_actions

    if saved is not None:
        if args.host:
            raise UsageError(_("{learner} has a course already (on {host}); --host is given once, when a course "
                               "starts").format(learner=learner, host=saved.host))
        learn_actions.revive(saved, args)
        print(_("Welcome back, {learner}.").format(learner=learner))
        return learn_actions.show(saved)
    progress = _own_host(args, learner) if args.host else boot(args, learner)
    store.save(progress)
    return learn_actions.show(progress)


def _own_host(args: argparse.Namespace, learner: str) -> Progress:
    """A server of the learner's own, after the loud confirmation: they type its name."""
    from wizard.app.learn.progress import Progress
    from wizard.app.recipefile import load

    if args.recipe is None:
        raise UsageError(_("--host needs --recipe: your own recipe for that server (its code repository must be "
                           "reachable from it); examples/flask-app.yaml shows the tutorial's"))
    load(args.recipe)  # refused here, with its line, before anything is asked
    err(_("!!! PRACTICE ON {host} !!!\nThe course installs packages, creates users and databases, rewrites nginx "
          "and the firewall on {host}, and the drills break it on purpose. Use only a disposable server you own, "
          "never one that serves anyone.").format(host=args.host))
    typed = args.confirm_host
    if typed is None and interactive():
        typed = input(_("Type the host name ({host}) to go on: ").format(host=args.host)).strip()
    if typed != args.host:
        raise UsageError(_("Not confirmed: type the host name exactly ({host}), or pass --confirm-host {host}").format(
            host=args.host))
    return Progress(learner, str(args.recipe.resolve()), args.host)


def boot(args: argparse.Namespace, learner: str) -> Progress:
    """Boot the practice sandbox with its lab, and write the course recipe and its practice password."""
    from wizard.app.learn.course import write_course
    from wizard.app.learn.progress import Progress
    from wizard.lab import sandbox

    sandbox.check_host()
    info = sandbox.up(args.sandbox, progress=lambda m: print(m, flush=True), release=args.release, lab=True)
    lab = sandbox.practice.load(sandbox.lab_dir(info.name))
    if lab is None:
        raise UsageError(_("The practice lab did not start beside the sandbox"))
    recipe, password = write_course(learner, host=info.ip, key=info.key, git=lab.git_url, acme=lab.acme_directory)
    print(_("The practice server is up ({ip}). Your course recipe: {recipe}; the database password to use: "
            "{password}").format(ip=info.ip, recipe=recipe, password=password))
    return Progress(learner, str(recipe), info.ip, sandbox=info.name, started=time.time())


__all__ = ["ACTIONS", "add_parser", "boot", "handle"]
