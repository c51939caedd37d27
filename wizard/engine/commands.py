"""Shell commands built from bits: every value quoted, every secret masked in anything a human or a log sees.

Why bits and not strings: a command assembled with f-strings is one hostile value away from running
`'; rm -rf / #` as root. Here a value is always one shell word; only `Op` (shell syntax written in our own
code, never from input) is emitted as is. The same object renders twice: `.shell()` with real values for the
transport, `.masked()` with `***` for screens, journals, plans and exports.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import quote as url_quote
from urllib.parse import quote_plus as url_quote_plus

MASK = "***"


class Secret:
    """A resolved secret value. Its str() is the mask, so an accidental f-string cannot leak it.

    Provenance, for exports that must never carry the value: `ref` is the recipe reference it came from
    (env:DB_PASSWORD), `form` how this value derives from it ("" = as is, "url", "pg_literal", ...), and
    `parts` the pieces of a text assembled around secrets (an SQL line, an env file), so a script or a playbook
    can rebuild the same text from its own environment.

    `_known` is the list of every value of one secret's family: the value itself and each form derived from it
    (derive() appends), shared by all of them, so a Masker that met any member masks forms derived later too.
    """

    __slots__ = ("name", "_value", "ref", "form", "parts", "_known")

    def __init__(self, name: str, value: str, *, ref: str | None = None, form: str = "",
                 parts: tuple[str | Secret, ...] | None = None, _known: list[str] | None = None) -> None:
        self.name = name
        self._value = value
        self.ref = ref
        self.form = form
        self.parts = parts
        self._known = [] if _known is None else _known
        self._known.append(value)

    def reveal(self) -> str:
        return self._value

    def derive(self, value: str, form: str) -> Secret:
        """A value computed from this secret (a hash, an escaped form) that exports rebuild with `form`."""
        return Secret(self.name, value, ref=self.ref, form=form, _known=self._known)

    @staticmethod
    def join(name: str, *parts: str | Secret) -> Secret:
        """Text made of plain pieces and secrets; secret as a whole, rebuildable piece by piece."""
        value = "".join(p.reveal() if isinstance(p, Secret) else p for p in parts)
        return Secret(name, value, parts=parts)

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, {MASK!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.name == self.name and other._value == self._value

    def __hash__(self) -> int:
        return hash((self.name, self._value))


@dataclass(frozen=True)
class Op:
    """Shell syntax (`&&`, `||`, `|`, `>`, `;`, `2>/dev/null`) from our own code; emitted unquoted."""

    text: str


AND, OR, PIPE, SEMI = Op("&&"), Op("||"), Op("|"), Op(";")

Bit = str | int | PurePath | Secret | Op


def quote(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL byte cannot be passed to a shell command")
    return shlex.quote(value)


def _render(bit: Bit, secret_word: Callable[[Secret], str]) -> str:
    if isinstance(bit, Op):
        return bit.text
    if isinstance(bit, Secret):
        return secret_word(bit)
    if isinstance(bit, bool):
        raise TypeError("pass booleans as explicit flags, not as command bits")
    return quote(str(bit))


def _revealed(secret: Secret) -> str:
    return quote(secret.reveal())


def _masked(secret: Secret) -> str:
    return MASK


@dataclass(frozen=True)
class Command:
    """One shell command line on the target.

    `root`: needs root (the transport adds sudo when the login user is not root). `user`: run as that user
    instead. `stdin`: fed to the command (a Secret here never shows in `ps` or in any log).
    """

    bits: tuple[Bit, ...]
    root: bool = True
    user: str | None = None
    stdin: str | Secret | None = None
    env: tuple[tuple[str, str], ...] = field(default=())
    display: str | None = None  # a shorter human form when the real line carries boilerplate (lock waits)

    def render(self, secret_word: Callable[[Secret], str]) -> str:
        """The line with each secret written by `secret_word`: quoted value, mask, or an export's variable."""
        words = " ".join(_render(b, secret_word) for b in self.bits)
        if self.env:
            exports = " ".join(f"{k}={quote(v)}" for k, v in self.env)
            words = f"export {exports}; {words}"
        return words

    def shell(self) -> str:
        """The real script, secrets included: only for the transport."""
        return self.render(_revealed)

    def masked(self) -> str:
        """What people, logs and exports see."""
        text = self.render(_masked)
        if isinstance(self.stdin, Secret):
            text += f" <<< {MASK}"
        return text

    def secrets(self) -> list[Secret]:
        found = [b for b in self.bits if isinstance(b, Secret)]
        if isinstance(self.stdin, Secret):
            found.append(self.stdin)
        return found

    def stdin_text(self) -> str | None:
        return self.stdin.reveal() if isinstance(self.stdin, Secret) else self.stdin

    def summary(self) -> str:
        """The human form for plans and logs: `display` when set, else the masked line."""
        return self.display or self.masked()

    def __str__(self) -> str:
        return self.masked()


NOTE = "   # "  # how a command shown to people carries a remark about it (apt's "after waiting for the dpkg lock")


def noted(line: str, note: str) -> str:
    """A command line as plans show it, with a remark for the reader after it (a shell comment, so the line still
    runs as typed)."""
    return f"{line}{NOTE}{note}"


def without_note(line: str) -> str:
    """The command alone, without the remark `noted` added: what a failure names as the command that failed."""
    return line.split(NOTE, 1)[0]


def cmd(*bits: Bit, root: bool = True, user: str | None = None, stdin: str | Secret | None = None,
        env: dict[str, str] | None = None, display: str | None = None) -> Command:
    return Command(tuple(bits), root=root, user=user, stdin=stdin, env=tuple((env or {}).items()), display=display)


def sh(script: str, *args: str, **kw: object) -> Command:
    """A constant script from our own code with every value passed as a positional parameter ($1, $2...).

    The safe way to need shell syntax (if, loops, redirects) around values: they are never spliced in.
    """
    return cmd("sh", "-c", script, "sh", *args, **kw)  # type: ignore[arg-type]


def chain(commands: Iterable[Command], op: Op = AND) -> Command:
    """Join commands into one line (one round trip); run-as and stdin must agree."""
    commands = list(commands)
    bits: list[Bit] = []
    for index, command in enumerate(commands):
        if index:
            bits.append(op)
        bits.extend(command.bits)
    first = commands[0]
    return Command(tuple(bits), root=any(c.root for c in commands), user=first.user, stdin=first.stdin,
                   env=first.env)


def encodings(value: str) -> set[str]:
    """The forms a secret commonly takes on its way through programs and people, besides itself.

    Why these: a password lands in a URL (percent-encoded, as DATABASE_URL carries it), an SQL literal (quotes
    doubled, or backslash-escaped in MySQL), a shell word (quoted), JSON (escaped), or an HTTP header or a
    config file (base64); a program that prints any of those would show the secret in a form the plain value
    does not match. Forms shorter than four characters are left out: masking them would mask ordinary text.
    """
    data = value.encode()
    forms = {
        url_quote(value, safe=""), url_quote(value), url_quote_plus(value),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), url_quote(value, safe="")),
        value.replace("'", "''"), value.replace("\\", "\\\\").replace("'", "\\'"),
        shlex.quote(value), re.sub(r'(["\\$`])', r"\\\1", value),
        json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for encoded in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return {form for form in forms if form != value and len(form) >= 4}


class Masker:
    """Replaces every known secret in free text (command output, error messages) with the mask: its value, each
    form derived from it (Secret.derive, also later than add()), and the common encodings of all of them."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self._families: dict[int, list[str]] = {}  # Secret._known lists, by identity: they grow with derive()
        self._plain: list[str] = []  # values added as plain strings
        self._size = 0  # how many values _masks was built from; more now means rebuild
        self._masks: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Secret | str) -> None:
        """Mask this secret (and the secrets a joined text is made of) from now on."""
        if isinstance(secret, str):
            if secret and secret not in self._plain:
                self._plain.append(secret)
            return
        self._families.setdefault(id(secret._known), secret._known)
        for part in secret.parts or ():
            if isinstance(part, Secret):
                self.add(part)

    @property
    def _values(self) -> set[str]:
        """Every text masked: values, derived forms and their encodings."""
        self._refresh()
        return self._masks

    def _refresh(self) -> None:
        """Rebuild the masks and the pattern when a secret was added or a family has grown (derive())."""
        size = sum(len(known) for known in self._families.values()) + len(self._plain)
        if size != self._size:
            values = {v for known in self._families.values() for v in known if v} | set(self._plain)
            self._masks = values.union(*(encodings(v) for v in values))
            ordered = sorted(self._masks, key=len, reverse=True)  # longest first: no partial leaks
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
            self._size = size

    def __call__(self, text: str) -> str:
        self._refresh()
        return self._pattern.sub(MASK, text) if self._pattern else text

    def open_tail(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a secret (0: none).

        Why: output that streams in chunks (`deploy-wizard run`) can split a secret between two chunks, and
        masking each chunk alone would show both halves; a stream holds this tail back until the next chunk.
        """
        longest = 0
        for value in self._values:
            for size in range(min(len(value) - 1, len(text)), longest, -1):
                if text.endswith(value[:size]):
                    longest = size
                    break
        return longest
