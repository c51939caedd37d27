"""What the shell, cloud-init and Ansible exports share: where each secret comes from in the replay.

Why secrets become variables: an export is a file people review, commit and mail around, so it must never
hold a secret. Every secret of the recording becomes the name of an environment variable (the recipe's own
env:NAME when it has one); derived values (a password in a URL, an SQL literal) are rebuilt from that variable
by the replay, in the form the Secret says (Secret.form).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

from wizard.app.recording import Recording
from wizard.engine.commands import Command, Secret, quote
from wizard.engine.errors import DeployWizardError
from wizard.engine.i18n import _
from wizard.engine.step import PutFile

FORMS = ("", "url", "pg_literal", "mysql_literal", "env_value")

# Every export's header says what it covers, so nobody mistakes a replay of a first apply for a release tool.
COVERS = ["# What it covers: a first apply, as recorded. What it does not: later releases with their health gate,",
          "# the watch that switches a failing one back, and rollbacks; those stay deploy-wizard's job",
          "# (`deploy-wizard apply` and `deploy-wizard rollback` with the recipe)."]


class ExportError(DeployWizardError):
    """The recording holds something an export cannot express; the message says what."""


def leaves(secret: Secret) -> Iterator[Secret]:
    """The secrets a (possibly assembled) secret is made of."""
    if secret.parts is None:
        yield secret
        return
    for part in secret.parts:
        if isinstance(part, Secret):
            yield from leaves(part)


def change_secrets(change: object) -> list[Secret]:
    found: list[Secret] = []
    commands = [c for c in (getattr(change, "command", None), getattr(change, "skip_if", None)) if c]
    for command in commands:
        assert isinstance(command, Command)
        found += command.secrets()
    if isinstance(change, PutFile) and change.source is not None:
        found.append(change.source)
    if isinstance(change, PutFile) and change.secret and change.source is None:
        raise ExportError(_("{path} holds a secret that is not built from recipe references").format(
            path=change.path))
    return [leaf for secret in found for leaf in leaves(secret)]


def as_root(command: Command, secret_word: Callable[[Secret], str]) -> str:
    """The line as the transport runs it for a root login, stdin aside: runuser for another user, a subshell
    to keep `export` of the command's env from reaching the next line."""
    line = command.render(secret_word)
    if command.user and command.user != "root":
        return f"runuser -u {quote(command.user)} -- sh -c {quote(line)}"
    return f"( {line} )" if command.env else line


@dataclass(frozen=True)
class SecretVar:
    variable: str
    ref: str
    label: str


def secret_vars(recording: Recording) -> dict[str, SecretVar]:
    """Recipe reference -> the variable the replay reads it from."""
    found: dict[str, SecretVar] = {}
    for change in recording.changes():
        for leaf in change_secrets(change):
            if leaf.ref is None:
                raise ExportError(_("'{what}' uses a secret ({secret}) that has no recipe reference").format(
                    what=change.why, secret=leaf.name))
            if leaf.form not in FORMS:
                raise ExportError(_("'{what}': no export knows the secret form {form}").format(
                    what=change.why, form=repr(leaf.form)))
            if leaf.ref not in found:
                name = leaf.ref[4:] if leaf.ref.startswith("env:") else "DW_SECRET_" + re.sub(
                    r"[^A-Z0-9]+", "_", leaf.name.upper()).strip("_")
                found[leaf.ref] = SecretVar(name, leaf.ref, leaf.name)
    return found


class Unsafe(str):
    """Text Ansible must take literally (a script, a file's content): written with Ansible's !unsafe tag, so
    Jinja never reads `{{` or `${#x}` in it."""


class ExportDumper(yaml.SafeDumper):
    """PyYAML's safe dumper for files people review: multi-line text as literal blocks (`|`) where YAML allows
    it (else PyYAML quotes and escapes it), Unsafe text tagged !unsafe, no anchors for repeated values, and
    lists indented under their key as Ansible's own examples are."""

    def ignore_aliases(self, data: object) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, text: str, tag: str = "tag:yaml.org,2002:str") -> yaml.ScalarNode:
    # Unicode line breaks (NEL, LS, PS) do not come back unchanged from a block or a single-quoted scalar:
    # text holding one is double-quoted, where PyYAML escapes them
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else "|" if "\n" in text else None
    return dumper.represent_scalar(tag, text, style=style)


ExportDumper.add_representer(str, _text)
ExportDumper.add_representer(Unsafe, lambda dumper, text: _text(dumper, str(text), "!unsafe"))


def dump_yaml(data: object) -> str:
    """The document as YAML: keys in the order they were built, Unicode as it is, long lines never folded."""
    return yaml.dump(data, Dumper=ExportDumper, sort_keys=False, allow_unicode=True, width=1 << 30)


def literal_block(text: str) -> bool:
    """Whether the text goes into YAML as a readable literal block (PyYAML cannot write trailing spaces, CR or
    control characters that way; it quotes and escapes such text instead)."""
    return "\n" in text and dump_yaml(text).startswith("|")
