"""A secret is masked in every form a program may print it in: as is, URL-encoded, as an SQL literal, shell-quoted,
JSON-escaped, base64, and every form derived from it (Secret.derive), even one derived after the masker met it."""

from __future__ import annotations

import base64
import json
import shlex
from urllib.parse import quote

import pytest

from tests.test_transport_ssh import Server
from wizard.engine.commands import MASK, Masker, Secret, cmd
from wizard.engine.events import Event, OutputLine
from wizard.engine.hostkeys import HostKeyStore
from wizard.engine.runner import Runner
from wizard.engine.secrets import SecretResolver
from wizard.engine.sinks import JournalSink, read_journal
from wizard.engine.step import Context, RunCommand, Step, StepSettings, Teaching
from wizard.engine.transports.local import LocalTransport

VALUE = "p@ss w0rd/'q\"u:o%te\\ü"

# (name, a Python expression of s computed on the "server", as a program there would print it)
FORMS = [
    ("url", "urllib.parse.quote(s, safe='')"),
    ("url, / kept", "urllib.parse.quote(s)"),
    ("url, form style", "urllib.parse.quote_plus(s)"),
    ("url, lower-case hex", "re.sub('%[0-9A-F]{2}', lambda m: m.group().lower(), urllib.parse.quote(s, safe=''))"),
    ("SQL literal, quotes doubled", "\"'\" + s.replace(\"'\", \"''\") + \"'\""),
    ("MySQL literal, backslashes", "s.replace('\\\\', '\\\\\\\\').replace(\"'\", \"\\\\'\")"),
    ("shell-quoted", "shlex.quote(s)"),
    ("shell, double quotes", "'\"' + re.sub(r'([\"\\\\$`])', r'\\\\\\1', s) + '\"'"),
    ("JSON", "json.dumps(s)"),
    ("JSON, Unicode kept", "json.dumps({'password': s}, ensure_ascii=False)"),
    ("base64", "base64.b64encode(s.encode()).decode()"),
    ("base64, no padding", "base64.b64encode(s.encode()).decode().rstrip('=')"),
    ("base64, URL-safe", "base64.urlsafe_b64encode(s.encode()).decode()"),
]
SCRIPT = "import base64, json, re, shlex, sys, urllib.parse; s = sys.stdin.read(); print('form:', {})"


def expected(expression: str) -> str:
    import re
    import urllib.parse  # noqa: F401 - used by the expression

    return eval(expression, {"s": VALUE, "re": re, "urllib": urllib, "shlex": shlex, "json": json,  # noqa: S307
                             "base64": base64})


def test_the_forms_really_differ_from_the_value() -> None:
    for _name, expression in FORMS:
        assert VALUE not in expected(expression)


@pytest.mark.parametrize(("name", "expression"), FORMS, ids=[f[0] for f in FORMS])
async def test_each_encoding_is_masked_in_a_runs_output(name: str, expression: str) -> None:
    masker = Masker()
    secret = SecretResolver(environ={"DB_PW": VALUE}, masker=masker).resolve("env:DB_PW", "database.password")
    transport = LocalTransport(masker=masker)
    await transport.connect()
    lines: list[str] = []
    result = await transport.run(cmd("python3", "-c", SCRIPT.format(expression), stdin=secret, root=False),
                                 on_output=lambda stream, line: lines.append(line))
    assert result.ok, result.stderr
    printed = expected(expression)
    assert printed not in result.stdout and printed not in "\n".join(lines)
    assert MASK in result.stdout


async def test_forms_derived_after_the_masker_met_the_secret_are_masked(tmp_path) -> None:
    masker = Masker()
    password = SecretResolver(environ={"DB_PW": VALUE}, masker=masker).resolve("env:DB_PW", "database.password")
    # what the database step builds later, in its plan: a verifier literal and the URL form in DATABASE_URL
    literal = password.derive("'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy'", "pg_literal")
    url = password.derive(quote(VALUE, safe=""), "url")
    env_file = Secret.join("database.env", "DATABASE_URL=postgresql://app:", url, "@127.0.0.1:5432/app\n")
    transport = LocalTransport(masker=masker)
    await transport.connect()
    # printed by a program that got them as plain text (not as the Secret objects the masker was given)
    result = await transport.run(cmd("sh", "-c", "printf '%s\\n' \"$1\"; cat", "sh", literal.reveal(),
                                     stdin=env_file.reveal(), root=False))
    assert result.stdout.splitlines()[0] == MASK  # the literal as derived
    assert quote(VALUE, safe="") not in result.stdout and "postgresql://app:***@127.0.0.1" in result.stdout


def test_a_joined_secret_brings_its_parts_forms_along() -> None:
    token = Secret("token", "tok-1234-abcd")
    masker = Masker([Secret.join("app.env", "TOKEN='", token.derive("tok-1234-abcd", "env_value"), "'\n")])
    assert masker(base64.b64encode(b"tok-1234-abcd").decode()) == MASK


def test_short_encodings_are_not_masked_but_the_value_is() -> None:
    masker = Masker([Secret("pin", "ab")])  # base64 "YWI" would mask ordinary text; the value itself still goes
    assert masker("YWI ab") == f"YWI {MASK}"


class Echo(Step):
    """Prints its secret's URL form, as `env` or a crash dump of DATABASE_URL would."""

    name = "echo"
    title = "echo"
    Settings = StepSettings
    teaching = Teaching(why="test")

    def plan(self, s, facts, ctx):
        password = ctx.secret("env:DB_PW", "echo.password")
        url = password.derive(quote(password.reveal(), safe=""), "url")
        yield RunCommand("show the URL", cmd("sh", "-c", 'echo "DATABASE_URL=postgresql://app:$1@db/app"; '
                                             'printf %s "$1" | base64 >&2; exit 1', "sh", url, root=False))


async def test_no_form_reaches_the_events_or_the_journal() -> None:
    masker = Masker()
    resolver = SecretResolver(environ={"DB_PW": VALUE}, masker=masker)
    transport = LocalTransport(masker=masker)
    await transport.connect()
    journal = JournalSink("demo", "localhost")
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        journal(event)

    result = await Runner(transport, [(Echo(), StepSettings())], emit, ctx=Context(secrets=resolver.resolve)).apply()
    journal.close()
    assert not result.ok  # the command exits 1: its output lands in the error too
    text = journal.path.read_text() + repr(events) + (result.error or "")
    for leak in (VALUE, quote(VALUE, safe=""), base64.b64encode(quote(VALUE, safe="").encode()).decode()):
        assert leak not in text, text
    assert [e.text for e in events if isinstance(e, OutputLine)] == ["DATABASE_URL=postgresql://app:***@db/app", MASK]
    assert MASK in result.error and read_journal(journal.path)


async def test_over_ssh_too(tmp_path) -> None:
    srv = Server(tmp_path, nopasswd=True)
    await srv.start()
    store = HostKeyStore(tmp_path / "kh", openssh_files=[])
    store.add("127.0.0.1", srv.port, srv.host_key_line)
    masker = Masker()
    secret = SecretResolver(environ={"DB_PW": VALUE}, masker=masker).resolve("env:DB_PW", "database.password")
    transport = srv.transport(store, masker=masker)
    await transport.connect()
    result = await transport.run(cmd("python3", "-c", SCRIPT.format("urllib.parse.quote(s, safe='')"), stdin=secret,
                                     root=False))
    assert result.stdout == f"form: {MASK}"
    await transport.close()
    srv.server.close()

