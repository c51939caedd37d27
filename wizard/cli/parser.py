"""The command line of `deploy-wizard`: every command, flag and help text, and nothing that runs.

Why parent parsers: the flags several commands share (the recipe file, --host/--inventory/--parallel/--fail-fast,
--set, --json, --accept-new-host-key, --yes) are each written once, so they read and behave alike everywhere.
A command whose own flags come first in its --help (rollback, export) gets them from a parent too, because
argparse lists a parent's flags before the command's own.

The parser is built after the language is chosen: argparse keeps help texts as they are translated here.
"""

from __future__ import annotations

import argparse

from wizard.cli import argwords, learn
from wizard.cli.argwords import described
from wizard.cli.parser_local import add_drafts, add_sandbox
from wizard.engine.i18n import _


def _flags() -> argparse.ArgumentParser:
    """An empty parent parser to hold shared flags (no -h: the command that uses it has its own)."""
    return argparse.ArgumentParser(add_help=False)


def _recipe_file() -> argparse.ArgumentParser:
    parent = _flags()
    parent.add_argument("file", help=_("the recipe file (YAML)"))
    return parent


def _hosts() -> argparse.ArgumentParser:
    """Where a plan, apply or check runs: one host, several, or an inventory file."""
    parent = _flags()
    parent.add_argument("--host", action="append", dest="hosts", metavar="HOST",
                        help=_("run against this host instead of the recipe's target.host; repeat for several"))
    parent.add_argument("--inventory", metavar="FILE", help=_("a YAML list of hosts to run the recipe on"))
    parent.add_argument("--parallel", type=int, default=5, metavar="N",
                        help=_("with several hosts: how many at once (default 5)"))
    parent.add_argument("--fail-fast", action="store_true",
                        help=_("with several hosts: start no more hosts after one fails"))
    parent.add_argument("--batch", type=_count, default=0, metavar="N", help=_(
        "with several hosts: roll out N hosts at a time, in the order given; a batch starts only when every "
        "host of the one before passed, so a failing batch leaves the hosts after it as they were"))
    return parent


def _count(text: str) -> int:
    """A whole number from 1 to 10,000: argparse says which flag when it is not."""
    value = int(text)
    if not 1 <= value <= 10_000:
        raise ValueError(text)
    return value


class _OneServer(argparse.Action):
    """--host for a command that acts on one server: a second --host is refused instead of silently winning."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(_("{flag} given twice: this command acts on one server; run it once per host").format(
                flag=option_string))
        setattr(namespace, self.dest, values)


def _overrides() -> argparse.ArgumentParser:
    parent = _flags()
    parent.add_argument("--set", action="append", default=[], metavar="STEP.FIELD=VALUE",
                        help=_("override a setting of the recipe for this run, e.g. --set code.ref=v1.2.0 (an "
                               "empty value is refused: use --reset)"))
    parent.add_argument("--reset", action="append", default=[], metavar="STEP.FIELD",
                        help=_("put a setting back to its default for this run, e.g. --reset target.host_key "
                               "(unpins the host key); says what the default is"))
    return parent


def _json(hidden: bool) -> argparse.ArgumentParser:
    """--json: shown where the output is a run's events; hidden (but accepted) where it only silences questions."""
    parent = _flags()
    parent.add_argument("--json", action="store_true",
                        help=argparse.SUPPRESS if hidden else _("print one JSON event per line instead of a log"))
    return parent


def _trust() -> argparse.ArgumentParser:
    parent = _flags()
    parent.add_argument("--accept-new-host-key", action="store_true",
                        help=_("trust a host key never seen before without asking (a changed key still stops)"))
    return parent


def _seconds(text: str) -> int:
    """A whole number of seconds, 0 to a day: argparse says which flag when it is not."""
    value = int(text)
    if not 0 <= value <= 86400:
        raise ValueError(text)
    return value


def _yes(help_text: str) -> argparse.ArgumentParser:
    """--yes, with the help saying what exactly is not asked."""
    parent = _flags()
    parent.add_argument("--yes", "-y", action="store_true", help=help_text)
    return parent


def _one_host() -> argparse.ArgumentParser:
    parent = _flags()
    parent.add_argument("--host", action=_OneServer,
                        help=_("run against this host instead of the recipe's target.host"))
    return parent


def _rollback_flags() -> argparse.ArgumentParser:
    parent = _one_host()
    parent.add_argument("--to", metavar="RELEASE",
                        help=_("the release to switch to (default: the one before the current)"))
    parent.add_argument("--lock-wait", type=_seconds, default=0, metavar="SECONDS",
                        help=_("when another apply or rollback of this app runs on the server, wait up to this long "
                               "for it (default: refuse at once, saying who holds the lock)"))
    return parent


def _export_flags() -> argparse.ArgumentParser:
    parent = _flags()
    parent.add_argument("--format", choices=["runbook", "shell", "cloud-init", "ansible", "container"],
                        default="runbook", metavar="FORMAT",
                        help=_("runbook (the default), shell, cloud-init, ansible or container. runbook: every "
                               "step, why, its exact commands, how to verify, what to do if it fails; container: a "
                               "Containerfile and a compose file for a container platform (-o DIR inside the app's "
                               "checkout)"))
    parent.add_argument("--record-on", metavar="HOST|sandbox",
                        help=_("for shell, cloud-init and ansible: a FRESH server the recipe is applied to first "
                               "(it is changed!), or 'sandbox' for a throwaway local one (needs root)"))
    parent.add_argument("-o", "--output", help=_("write here instead of printing"))
    return parent




def build_parser() -> argparse.ArgumentParser:
    """The whole command line, in the language already chosen: argparse's own words too (argwords)."""
    argwords.install()
    parser = argwords.Parser(
        prog="deploy-wizard",
        description=_("Provision a fresh Linux server for a Python web app over SSH, step by step, and save it as "
                      "a recipe file that replays on the same or other servers."),
        epilog=_("Start with a practice server: `deploy-wizard sandbox up`, then "
                 "`deploy-wizard apply examples/sandbox.yaml`."),
    )
    parser.add_argument("--lang", choices=["en", "zh_CN"], help=_("language of messages (default: from the locale)"))
    parser.add_argument("--version", action="store_true", help=_("print the version and exit"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    recipe_file, trust, quiet_json = _recipe_file(), _trust(), _json(hidden=True)
    run_flags = [recipe_file, _hosts(), _overrides(), _json(hidden=False), trust]

    for name, help_text in (
        ("plan", _("show what apply would change, without changing anything (a dry run)")),
        ("check", _("drift check: compare the server with the recipe; exit 0 clean, 3 drift")),
    ):
        sub.add_parser(name, help=help_text, description=described(help_text), parents=run_flags)
    help_text = _("make the server match the recipe; a second apply changes nothing")
    apply = sub.add_parser("apply", help=help_text, description=described(help_text),
                           parents=[*run_flags, _yes(_("do not ask before applying (for CI)"))])
    apply.add_argument("--quiet", "-q", action="store_true", help=_("hide command output, show steps only"))
    apply.add_argument("--resume", action="store_true",
                       help=_("after a dropped connection or a failure: skip the steps the last run completed"))
    apply.add_argument("--lock-wait", type=_seconds, default=0, metavar="SECONDS",
                       help=_("when another apply or rollback of this app runs on the server, wait up to this long "
                              "for it (default: refuse at once, saying who holds the lock)"))

    _add_deploy(sub, recipe_file, trust)
    _add_logs(sub, recipe_file, trust)
    sub.add_parser("rollback", help=_("switch the app back to an earlier release (database not reversed)"),
                   description=_("Point `current` at an earlier release: it passes its health check, then "
                                 "takes over the socket from the live one. Database "
                                 "migrations are NOT reversed. The next apply deploys the recipe's ref again: "
                                 "pin `ref` to the old commit to stay on it."),
                   parents=[recipe_file, _rollback_flags(), _yes(_("do not ask before switching")), trust, quiet_json])
    sub.add_parser(
        "export", help=_("write a recipe out as a runbook, a bash script, cloud-init user-data, an Ansible playbook "
                          "or a container build"),
        description=_("runbook: a Markdown handout, made offline. shell, cloud-init and ansible replay a real first "
                      "apply, recorded on a throwaway server (--record-on): every change with the test that skips "
                      "it when it is already in place. container: a Containerfile and a compose file for the same "
                      "app, made offline. Secrets become environment variables, never file content."),
        parents=[recipe_file, _export_flags(), _overrides(),
                 _yes(_("do not ask before applying the recipe to the --record-on host")), trust, quiet_json])
    help_text = _("break a deploy lock whose run is gone (it shows who holds it and asks first)")
    sub.add_parser("unlock", help=help_text, description=described(help_text, _(
        "A lock frees itself when its run stops answering for a while; this is for when you cannot wait.")),
        parents=[recipe_file, _one_host(), _yes(_("do not ask before breaking the lock")), trust, quiet_json])
    help_text = _("turn maintenance mode on or off: nginx answers every page of the app with a 503 page")
    maintenance = sub.add_parser("maintenance", help=help_text, description=described(help_text, _(
        "For work that takes the app down (a long migration, a restore). Static files are still served, the "
        "health-check timer pauses, and plan and check say that it is on.")),
        parents=[recipe_file, _one_host(), trust, quiet_json])
    maintenance.add_argument("action", choices=["on", "off", "status"], help=_("on, off, or status (only read)"))
    maintenance.add_argument("--message", help=_("the text of the page (default: the site is being updated "
                                                 "and will be back shortly)"))
    _add_run(sub, recipe_file, trust)
    from wizard.cli.parser_backups import add_backups  # beside this module: it would pass 400 lines

    add_backups(sub, recipe_file, trust, quiet_json)
    help_text = _("run every step's checks (how to verify) on the server and show what each answered")
    verify = sub.add_parser("verify", help=help_text, description=_(
        "Run every step's checks (the commands the runbook and the wizard's Summary give under Verify) on the "
        "server, as the recipe's login user with sudo where a check needs root, and show what each answered. "
        "They only read. Exit 0 when every check passes, 1 otherwise."),
        parents=[recipe_file, _overrides(), trust, quiet_json])
    verify.add_argument("--host", action=_OneServer,
                        help=_("run against this host instead of the recipe's target.host"))
    verify.add_argument("--verbose", "-v", action="store_true",
                        help=_("show what every check answered, not only the failed ones"))
    help_text = _("print the JSON Schema of recipe files")
    sub.add_parser("schema", help=help_text, description=described(help_text, _(
        "Point an editor's YAML support at it to check a recipe as you type, or validate recipes in CI with any "
        "JSON Schema tool; `plan` checks the same rules and more (the checks across steps)")))
    learn.add_parser(sub)
    add_drafts(sub)
    help_text = _("write a new recipe: the wizard, or plain questions with --plain")
    new = sub.add_parser("new", help=help_text, description=described(help_text, _(
        "Nothing is sent to a server: the recipe file is written, then `deploy-wizard plan FILE` shows what it "
        "would change and `deploy-wizard apply FILE` makes the change")))
    new.add_argument("--plain", action="store_true", help=_("ask in the plain terminal (no full-screen UI)"))
    new.add_argument("-o", "--output", default="recipe.yaml", help=_("where to write the recipe"))
    help_text = _("open a recipe (or a draft) in the wizard")
    edit = sub.add_parser("edit", help=help_text, description=described(help_text, _(
        "Without a file it opens the latest draft (`deploy-wizard drafts` lists them all); the wizard saves the "
        "recipe file when you press Save or Run in its Review")))
    edit.add_argument("file", nargs="?", help=_("the recipe or draft file (default: the latest draft)"))
    add_sandbox(sub)
    _lang_anywhere(parser)
    return parser


def _lang_anywhere(parser: argparse.ArgumentParser) -> None:
    """Every command accepts --lang after its name too (`plan r.yaml --lang zh_CN`): main() reads it before the
    parser exists, wherever it stands; here each command only has to accept it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if "--lang" not in child._option_string_actions:
                    child.add_argument("--lang", choices=["en", "zh_CN"], default=argparse.SUPPRESS,
                                       help=_("language of messages (default: from the locale)"))
                _lang_anywhere(child)


class _ExamplesFormatter(argwords.Formatter):
    """Wraps the description as usual but keeps a text with line breaks (the examples) as it is written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


def _add_deploy(sub: argparse._SubParsersAction, recipe_file: argparse.ArgumentParser,
                trust: argparse.ArgumentParser) -> None:
    """`deploy FILE --ref REF`: the release part only, headless, for CI."""
    help_text = _("ship one commit to a server the recipe set up: fetch, release, migrations, switch, health (for CI)")
    deploy = sub.add_parser(
        "deploy", help=help_text, formatter_class=_ExamplesFormatter,
        description=described(help_text, _(
            "Only the steps that make a release run (code, database migrations, static files, the app server's "
            "health gate and switch); the others are not touched. It never asks: secrets come from the "
            "environment variables (or files) the recipe names, the host key must be pinned. A branch or tag is "
            "read on this machine and the server gets that commit. Exit codes: 0 the commit is live, 1 the deploy "
            "failed (the live release keeps serving), 2 bad input (a ref that names nothing, a missing secret, a "
            "server never set up), 4 another deploy holds the app's lock")),
        epilog=_("examples:\n"
                 "  deploy-wizard deploy recipe.yaml --ref v1.4.0\n"
                 "  DB_PASSWORD=... deploy-wizard deploy recipe.yaml --ref \"$GITHUB_SHA\""),
        parents=[recipe_file, _one_host(), _json(hidden=False), trust])
    deploy.add_argument("--ref", required=True, help=_("the branch, tag or full commit to deploy"))
    deploy.add_argument("--quiet", "-q", action="store_true", help=_("hide command output, show steps only"))
    deploy.add_argument("--lock-wait", type=_seconds, default=0, metavar="SECONDS",
                        help=_("when another deploy of this app runs on the server, wait up to this long for it "
                               "(default: refuse at once with exit 4)"))


def _add_logs(sub: argparse._SubParsersAction, recipe_file: argparse.ArgumentParser,
              trust: argparse.ArgumentParser) -> None:
    """`logs FILE [--service ...] [-f] [--since T] [--grep RE] [-n N]`."""
    help_text = _("read a service's logs on the server from here: the app, nginx, a worker, the database or the system")
    logs = sub.add_parser(
        "logs", help=help_text, formatter_class=_ExamplesFormatter,
        description=described(help_text, _(
            "Over the recipe's SSH connection, with sudo where a log is root's: the app's and a worker's journal "
            "(every release), the site's nginx logs (with each request's time), PostgreSQL's log file or "
            "MariaDB's journal, or the whole journal. Secrets the recipe knows, and passwords in URLs, are shown "
            "as ***")),
        epilog=_("examples:\n"
                 "  deploy-wizard logs recipe.yaml --since 1h --grep 'Traceback|ERROR'\n"
                 "  deploy-wizard logs recipe.yaml --service nginx -f\n"
                 "  deploy-wizard logs recipe.yaml --service worker emails -n 200"),
        parents=[recipe_file, _one_host(), trust, _json(hidden=True)])
    logs.add_argument("--service", nargs="+", metavar="SERVICE", help=_(
        "app (default), nginx, worker NAME, db or system"))
    logs.add_argument("-f", "--follow", action="store_true", help=_("keep printing new lines until Ctrl-C"))
    logs.add_argument("--since", metavar="TIME", help=_(
        "from this time on: 30m, 2h, 1d, today, yesterday, 2026-12-04 or '2026-12-04 17:00' (dates on the "
        "server's clock; log files are filtered by the time on each line: nginx's access and error logs, "
        "PostgreSQL's)"))
    logs.add_argument("--grep", metavar="REGEX", help=_("only lines that match this regular expression (Python's)"))
    logs.add_argument("-n", "--lines", type=_lines, default=50, metavar="N",
                      help=_("how many of the last lines (default 50; ignored with --since)"))


def _lines(text: str) -> int:
    """0 (with -f: only new lines) to 100,000."""
    value = int(text)
    if not 0 <= value <= 100_000:
        raise ValueError(text)
    return value


def _add_run(sub: argparse._SubParsersAction, recipe_file: argparse.ArgumentParser,
             trust: argparse.ArgumentParser) -> None:
    """`run FILE [flags] -- CMD [ARGS...]`: the command after `--` is taken apart by `split_command`."""
    flags = _flags()
    flags.add_argument("--host", action=_OneServer,
                       help=_("run against this host instead of the recipe's target.host"))
    flags.add_argument("--lang", choices=["en", "zh_CN"], default=argparse.SUPPRESS,
                       help=_("language of messages (default: from the locale)"))
    run = sub.add_parser(
        "run", help=_("run a one-off command on the server the way the app runs (e.g. manage.py createsuperuser)"),
        usage="deploy-wizard run [-h] [--host HOST] [--lang {en,zh_CN}]\n"
              "                         [--accept-new-host-key] FILE -- CMD [ARGS...]",  # 80 columns
        description=_("Run CMD on the server as the app runs: as the app user (deploy_user.name), in the live "
                      "release (/srv/APP/current), with the app's env files (/srv/APP/shared/env/*.env) loaded "
                      "as its service loads them, and the venv's bin first on PATH. In a terminal the command "
                      "gets a terminal on the server, so it can ask questions and read a password "
                      "(createsuperuser); otherwise stdin is passed through and stdout and stderr stay apart. "
                      "The exit code is the command's own."),
        epilog=_("examples:\n"
                 "  deploy-wizard run recipe.yaml -- python manage.py createsuperuser\n"
                 "  deploy-wizard run recipe.yaml -- python manage.py shell -c \"print(42)\"\n"
                 "  deploy-wizard run recipe.yaml -- flask db upgrade\n"
                 "  deploy-wizard run recipe.yaml -- python manage.py dumpdata > data.json"),
        formatter_class=_ExamplesFormatter, parents=[recipe_file, flags, trust])
    run.set_defaults(json=False)


def split_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """For `run`: the words argparse reads, and the command after the first `--` (None without one).

    Why by hand: argparse's REMAINDER would take flags written after FILE (`run FILE --host H -- ...`) as the
    command, and the command's own flags (`-c`, `--settings`) must never be read as ours.
    """
    words = iter(argv)
    for word in words:
        if word == "--lang":
            next(words, None)
        elif not word.startswith("-"):
            if word == "run" and "--" in argv:
                cut = argv.index("--")
                return argv[:cut], argv[cut + 1:]
            break
    return argv, None


def _add_drafts(sub: argparse._SubParsersAction) -> None:
    """`drafts [list]`, `drafts delete ID...|--all`: the wizard's drafts on this machine."""
    drafts = sub.add_parser("drafts", help=_("list the wizard's drafts (id, age, recipe), or delete them"),
                            description=_("The wizard autosaves the answers typed so far as a draft, one per new "
                                          "recipe or recipe file. `drafts` lists them with their id, age and recipe; "
                                          "`drafts delete` removes them. Drafts not changed for 30 days are deleted "
                                          "at the next start of deploy-wizard."))
    actions = drafts.add_subparsers(dest="drafts_command", metavar="ACTION")
    actions.add_parser("list", help=_("list the drafts (the default)"))
    delete = actions.add_parser("delete", help=_("delete drafts by their id, or all of them"))
    delete.add_argument("ids", nargs="*", metavar="ID", help=_("a draft's id, as `deploy-wizard drafts` shows it"))
    delete.add_argument("--all", action="store_true", help=_("delete every draft"))



__all__ = ["build_parser", "split_command"]
