"""`deploy-wizard logs FILE`: the app's, nginx's, a worker's, the database's or the system's logs, read from here.

Why a command: logs are read by logging in and knowing where each one lives (a journal unit per release, a file
per site, a file per PostgreSQL cluster) and that reading them needs root. Here the recipe's steps say where
their logs are (the LogSources hook), the same SSH connection reads them with sudo, and every secret the recipe
knows (and any password written into a URL) is masked before a line is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from wizard.app.recipefile import Recipe
from wizard.app.session import Questions, make_transport, secret_refs
from wizard.engine.commands import Command, Masker, sh
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.hooks import LogSource, LogSources
from wizard.engine.i18n import _
from wizard.engine.secrets import SecretError, SecretResolver

SERVICES = ("app", "nginx", "worker", "db", "system")
FOREVER = 366 * 86400.0  # -f: the command runs until the operator stops it
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_AGO = re.compile(r"^(\d{1,6})\s*(s|m|min|h|d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")
_UNITS = {"s": "s", "m": "min", "min": "min", "h": "h", "d": "d"}
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
# a password written into a URL (postgres://user:PASSWORD@host), whoever's it is: the owner role's, born on the server
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)", re.IGNORECASE)
# $1 lines, $2 follow (1/0), $3 the message when none exists, then the files as patterns, expanded on the server
TAIL = ('n="$1"; f="$2"; none="$3"; shift 3; set -f; pats="$*"; set +f; set --; for p in $pats; do '
        'for m in $p; do [ -f "$m" ] && set -- "$@" "$m"; done; done; '
        '[ "$#" -gt 0 ] || { printf "deploy-wizard: %s %s\\n" "$none" "$pats" >&2; exit 1; }; '
        'if [ "$f" = 1 ]; then exec tail -n "$n" -F -- "$@"; else exec tail -n "$n" -- "$@"; fi')
# With --since on files: the server's clock and UTC offset first (its files' times without a zone are its own)
NOW_MARK = "@@deploy-wizard-now "
SERVER_NOW = f'date "+{NOW_MARK}%Y-%m-%dT%H:%M:%S%z"; '
# nginx's times: [04/Dec/2026:17:09:54 +0000] in an access log
_ACCESS_TIME = re.compile(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
# nginx's error logs: 2026/12/04 17:09:54 [error] ..., the server's local time
_ERROR_TIME = re.compile(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[")
# PostgreSQL's (log_line_prefix '%m [%p] '): 2026-12-04 17:09:54.123 UTC [812] ..., in its log_timezone
_POSTGRES_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? ([A-Z]{2,5}|[+-]\d{2}) \[")


class LogsError(DeployWizardError):
    """A logs question that cannot be asked as given (an unknown service, a bad --since or --grep)."""

    exit_code = ExitCode.BAD_INPUT
    bare = True


@dataclass(frozen=True)
class Since:
    """--since as journalctl reads it, and (relative times only) the moment it means, for files."""

    journal: str
    cutoff: datetime | None
    wall: str | None = None  # a date or today/yesterday: read on the server's clock, in its time zone


def service_key(words: list[str]) -> str:
    """`app`, `nginx`, `db`, `system`, or `worker NAME` -> the key the steps' LogSources use."""
    if not words or words[0] not in SERVICES:
        raise LogsError(_("--service: '{given}' is not a service; say one of: app, nginx, worker NAME, db, "
                          "system").format(given=" ".join(words)))
    if words[0] == "worker":
        if len(words) != 2 or not _NAME.match(words[1]):
            raise LogsError(_("--service worker needs the worker's name, e.g. --service worker emails"))
        return f"worker {words[1]}"
    if len(words) > 1:
        raise LogsError(_("--service {name} takes no name (only worker does)").format(name=words[0]))
    return words[0]


def parse_since(text: str | None, now: datetime | None = None) -> Since | None:
    """`30m`, `2h`, `1d`, `today`, `yesterday`, `2026-12-04` or `2026-12-04 17:00[:00]`; LogsError otherwise."""
    if text is None:
        return None
    text = text.strip()
    ago = _AGO.match(text)
    if ago:
        unit = _UNITS[ago.group(2)]
        seconds = int(ago.group(1)) * _SECONDS[unit]
        return Since(f"{ago.group(1)}{unit} ago", (now or datetime.now(UTC)) - timedelta(seconds=seconds))
    if text in ("today", "yesterday") or _DATE.match(text):
        if _DATE.match(text):
            try:
                datetime.fromisoformat(text)
            except ValueError:
                raise LogsError(_("--since: '{text}' is not a date").format(text=text)) from None
        return Since(text, None, wall=text)
    raise LogsError(_("--since: '{text}' is not a time; say 30m, 2h, 1d, today, yesterday, 2026-12-04 or "
                      "'2026-12-04 17:00'").format(text=text))


def parse_grep(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise LogsError(_("--grep: '{pattern}' is not a regular expression: {why}").format(
            pattern=pattern, why=exc)) from None


def source_of(recipe: Recipe, key: str) -> LogSource:
    """Where the logs of `key` are, as the recipe's steps say; a worker nobody declares is looked for under the
    unit name workers get (APP-worker-NAME@N.service); `system` is the whole journal."""
    ctx = recipe.context()
    offered: dict[str, LogSource] = {}
    for step, settings in recipe.selected():
        if isinstance(step, LogSources):
            offered.update(step.log_sources(settings, ctx))
    if key in offered:
        return offered[key]
    if key == "system":
        return LogSource()
    declared = any(name.startswith("worker ") for name in offered)  # the recipe's workers step names them all
    if key.startswith("worker ") and not declared:
        return LogSource(units=(f"{recipe.name}-worker-{key.split()[1]}@*.service",))
    raise LogsError(_("--service {key}: this recipe sets up no such service; it has: {have}").format(
        key=key, have=", ".join([*sorted(offered), "worker NAME", "system"])))


def command(source: LogSource, *, lines: int, follow: bool, since: Since | None) -> Command:
    """journalctl for units (every unit given, or the whole journal), tail for files; as root (sudo): the
    journal and nginx's logs are not the login user's to read."""
    if source.files:
        # files given as patterns (a PostgreSQL cluster's version): expanded on the server, only those that exist
        count = "+1" if since is not None else str(lines)
        return sh((SERVER_NOW if since is not None else "") + TAIL, count, "1" if follow else "0",
                  _("none of these log files exist yet:"), *source.files,
                  user=source.user, display=f"tail -n {count}{' -F' if follow else ''} {' '.join(source.files)}")
    words = ["journalctl", "--no-pager", "-o", "short-iso"]
    for unit in source.units:
        words += ["-u", unit]
    words += ["--since", since.journal] if since else ["-n", str(lines)]
    if follow:
        words.append("-f")
    return sh('exec "$@"', *words, display=" ".join(words))


def masker_for(recipe: Recipe, environ: dict[str, str] | None = None) -> tuple[Masker, list[str]]:
    """A masker of every secret of the recipe that can be read here (env and file references; never asked),
    and the labels of those that cannot (said to the operator: their values cannot be masked)."""
    masker = Masker()
    resolver = SecretResolver(None, environ=environ, masker=masker)
    unread = []
    for label, ref, _spec, _settings in secret_refs(recipe):
        try:
            resolver.resolve(ref, label)
        except SecretError:
            unread.append(label)
    return masker, unread


def line_time(line: str, offset: timedelta) -> datetime | None:
    """When a log file's line was written: nginx's access and error logs, PostgreSQL's; None for a line with no
    time of its own (a traceback's next line). Times without a zone are the server's (`offset` from UTC)."""
    found = _ACCESS_TIME.search(line)
    if found:
        return datetime.strptime(found.group(1), "%d/%b/%Y:%H:%M:%S %z")
    found = _ERROR_TIME.match(line)
    if found:
        return datetime.strptime(found.group(1), "%Y/%m/%d %H:%M:%S").replace(tzinfo=timezone(offset))
    found = _POSTGRES_TIME.match(line)
    if found:
        zone = found.group(2)
        here = timedelta(hours=int(zone)) if zone[0] in "+-" else timedelta(0) if zone in ("UTC", "GMT") else offset
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone(here))
    return None


def wall_cutoff(wall: str, server_now: datetime) -> datetime:
    """A --since date (today, yesterday, 2026-12-04, '2026-12-04 17:00') as a moment on the server's clock."""
    midnight = server_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if wall in ("today", "yesterday"):
        return midnight - timedelta(days=1 if wall == "yesterday" else 0)
    return datetime.fromisoformat(wall).replace(tzinfo=server_now.tzinfo)


class LineFilter:
    """Lines in (one per call, as the SSH transport hands them over, or a whole text to `feed`), shown masked,
    passwords in URLs masked, then --since (for files) and --grep applied.

    --since on files: every line with a time of its own (nginx's access and error logs, PostgreSQL's) is kept
    from the cutoff on, and the lines without one follow the line before. The server says its clock first
    (NOW_MARK): the zone of the times written without one, and the moment a date (today, 2026-12-04) means."""

    def __init__(self, masker: Masker, show: Callable[[str], None], *, grep: re.Pattern[str] | None = None,
                 cutoff: datetime | None = None, wall: str | None = None) -> None:
        self.masker, self.show, self.grep, self.cutoff, self.wall = masker, show, grep, cutoff, wall
        self._rest = ""
        self._offset = timedelta(0)
        self._keep = cutoff is None and wall is None  # lines with no time of their own follow the line before

    def feed(self, text: str) -> None:
        *lines, self._rest = (self._rest + text).split("\n")
        for line in lines:
            self.line(line)

    def close(self) -> None:
        if self._rest:
            self.line(self._rest)
            self._rest = ""

    def line(self, line: str) -> None:
        if line.startswith(NOW_MARK):
            server_now = datetime.strptime(line.removeprefix(NOW_MARK).strip(), "%Y-%m-%dT%H:%M:%S%z")
            self._offset = server_now.utcoffset() or timedelta(0)
            if self.wall is not None:
                self.cutoff = wall_cutoff(self.wall, server_now)
            return
        line = _URL_PASSWORD.sub(r"\1***\3", self.masker(line))
        if self.cutoff is not None:
            when = line_time(line, self._offset)
            if when:
                self._keep = when >= self.cutoff
            elif line.startswith("==> "):
                self._keep = True  # tail's header naming the file
        if self._keep and (self.grep is None or self.grep.search(line)):
            self.show(line)


def offered(recipe: Recipe) -> list[str]:
    """The services the recipe's steps say they log (app, nginx, db...), then the system: what a front end offers."""
    ctx = recipe.context()
    keys = [key for step, settings in recipe.selected() if isinstance(step, LogSources)
            for key in step.log_sources(settings, ctx)]
    first = {name: index for index, name in enumerate(SERVICES)}  # the app first: the usual question
    return [*sorted(keys, key=lambda key: first.get(key.split()[0], len(first))), "system"]


async def read_logs(recipe: Recipe, questions: Questions, key: str, show: Callable[[str], None], *,
                    lines: int = 50, follow: bool = False, since: Since | None = None,
                    grep: re.Pattern[str] | None = None, host: str | None = None,
                    unread: Callable[[list[str]], None] | None = None) -> tuple[int, str]:
    """Connect, read `key`'s logs line by line into `show` (masked, filtered) until they end (or, with
    `follow`, until cancelled); (the server command's exit status, what it said on stderr, masked)."""
    source = source_of(recipe, key)
    masker, not_masked = masker_for(recipe)
    if not_masked and unread is not None:
        unread(not_masked)
    filtered = LineFilter(masker, show, grep=grep, cutoff=since.cutoff if since and source.files else None,
                          wall=since.wall if since and source.files else None)
    errors: list[str] = []
    streamed = []

    def output(stream: str, text: str) -> None:  # one line, its newline taken off
        streamed.append(True)
        if stream == "stdout":
            filtered.line(text)
        else:
            errors.append(text + "\n")

    transport = make_transport(recipe, questions, masker, host)
    try:
        await transport.connect()
        result = await transport.run(command(source, lines=lines, follow=follow, since=since), on_output=output,
                                     timeout=FOREVER if follow else 300)
        if not streamed:  # a transport that answers at the end only
            filtered.feed(result.stdout)
            errors.append(result.stderr)
    finally:
        await transport.close()
        filtered.close()
    return result.exit_status, masker("".join(errors))


__all__ = ["SERVICES", "LineFilter", "LogsError", "Since", "command", "masker_for", "parse_grep", "parse_since",
           "offered", "read_logs", "service_key", "source_of"]
