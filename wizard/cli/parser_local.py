"""The parts of the command line about this machine rather than a server: the wizard's drafts and the practice
sandboxes (split from wizard.cli.parser, which keeps the recipe commands)."""

from __future__ import annotations

import argparse

from wizard.cli.argwords import described
from wizard.engine.i18n import _


def add_drafts(sub: argparse._SubParsersAction) -> None:
    """`drafts [list]`, `drafts delete ID...|--all`: the wizard's drafts on this machine."""
    drafts = sub.add_parser("drafts", help=_("list the wizard's drafts (id, age, recipe), or delete them"),
                            description=_("The wizard autosaves the answers typed so far as a draft, one per new "
                                          "recipe or recipe file. `drafts` lists them with their id, age and recipe; "
                                          "`drafts delete` removes them. Drafts not changed for 30 days are deleted "
                                          "at the next start of deploy-wizard."))
    actions = drafts.add_subparsers(dest="drafts_command", metavar="ACTION")
    help_text = _("list the drafts (the default)")
    actions.add_parser("list", help=help_text, description=described(help_text))
    help_text = _("delete drafts by their id, or all of them")
    delete = actions.add_parser("delete", help=help_text, description=described(help_text))
    delete.add_argument("ids", nargs="*", metavar="ID", help=_("a draft's id, as `deploy-wizard drafts` shows it"))
    delete.add_argument("--all", action="store_true", help=_("delete every draft"))


def add_sandbox(sub: argparse._SubParsersAction) -> None:
    """`sandbox up|down|ssh|status`: its own little command line, apart from the recipe commands."""
    from wizard.lab.image import DEFAULT_RELEASE, RELEASES

    sandbox = sub.add_parser("sandbox", help=_("a throwaway local Debian server to practise on (needs root)"),
                             description=_("Boot throwaway Debian servers (13 or 12) on this machine with "
                                           "systemd-nspawn. Each `up` is a clean server with its own host key; "
                                           "`down` removes every trace. Needs Linux and root."))
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    help_text = _("boot a clean sandbox server")
    up = actions.add_parser("up", help=help_text, description=described(help_text), epilog=_(
        "Many at once: every sandbox's systemd takes inotify instances from one limit this machine shares, "
        "fs.inotify.max_user_instances (128 by default: about the 20th would not boot). `up` raises it when the "
        "sandboxes running need more, never lowers it, and says so. A failed boot keeps its console log under "
        "/var/lib/deploy-wizard/sandbox/logs/ and names it."))
    up.add_argument("--name", help=_("name (default: sandbox<N>)"))
    up.add_argument("--release", choices=list(RELEASES), default=DEFAULT_RELEASE, help=_(
        "Debian release: trixie (13, the default) or bookworm (12); each is built once, then cached"))
    up.add_argument("--lab", action="store_true", help=_(
        "also serve the example apps over git and a test CA the server trusts, so the example recipes "
        "(examples/flask-app.yaml, examples/django-app.yaml) run as they are; stopped with the sandbox"))
    up.add_argument("--domain", action="append", default=[], metavar="NAME", help=_(
        "with --lab: one more name the server resolves to itself (beside demo.example.test and shop.example.test), "
        "for your own app's nginx.server_names and tls.domain; repeat it for more"))
    help_text = _("stop sandboxes and remove them")
    down = actions.add_parser("down", help=help_text, description=described(help_text))
    down.add_argument("names", nargs="*", metavar="NAME", help=_(
        "the sandboxes to stop, by the names `deploy-wizard sandbox status` lists (sandbox1...)"))
    down.add_argument("--all", action="store_true", help=_("every sandbox on this machine"))
    help_text = _("open a shell on a sandbox (or run a command)")
    ssh = actions.add_parser("ssh", help=help_text, description=described(help_text))
    ssh.add_argument("name", nargs="?", help=_("which one (default: the only one running)"))
    ssh.add_argument("--user", default="root", help=_("login user: root, admin (sudo) or ops (sudo with password)"))
    ssh.add_argument("cmd", nargs=argparse.REMAINDER, help=_(
        "command to run instead of a shell (--user may also come after the name; -- ends the options)"))
    help_text = _("list sandboxes")
    status = actions.add_parser("status", help=help_text, description=described(help_text))
    status.add_argument("--json", action="store_true", help=_("machine-readable output"))


__all__ = ["add_drafts", "add_sandbox"]
