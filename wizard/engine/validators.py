"""Validated value types shared by every step's settings.

Why strict allow-lists: these values end up in shell commands (quoted anyway) and in config files (where
quoting does not exist). A name that could carry a newline, a semicolon or `..` into nginx, sudoers or a
unit file is refused here with a message that says what is allowed, long before anything is written.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from wizard.engine.i18n import _, n_

_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]{0,99}$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
_PATH_PART = re.compile(r"^[A-Za-z0-9._@+\-]+$")
_KEY_TYPES = {
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}
_ENV = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
# C0 and C1 controls (newline, carriage return, tab, NUL, escape...) and the Unicode line and paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
RESERVED_USERS = {"root", "daemon", "bin", "sys", "nobody", "www-data", "postgres", "sshd"}


def package_name(value: str) -> str:
    if not _PACKAGE.fullmatch(value):
        raise ValueError(_("'{v}' is not a valid Debian package name (lower-case letters, digits, + - .)").format(
            v=value))
    return value


def user_name(value: str) -> str:
    if not _USER.fullmatch(value):
        raise ValueError(_("'{v}' is not a valid user name: start with a-z or _, then up to 31 of a-z 0-9 _ -").format(
            v=value))
    return value


def new_user_name(value: str) -> str:
    user_name(value)
    if value in RESERVED_USERS:
        raise ValueError(_("'{v}' is a system account; choose a name of its own for the app").format(v=value))
    return value


def hostname(value: str) -> str:
    """A DNS name in lower case (a server name, a certificate's domain); an IPv4 address written in full passes
    too (nginx answers a server name that is the address), a name whose last label is all digits does not."""
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(_("'{v}' is not a valid host name: labels of a-z 0-9 and -, separated by dots").format(
            v=value))
    if labels[-1].isdigit() and not is_address(value):
        raise ValueError(_("'{v}' is neither a host name nor an IP address: a name's last part is not all digits, "
                           "and an address is written in full (1.2.3.4 or ::1)").format(v=value))
    return value


_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_ZONE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")


def is_address(value: str) -> bool:
    """Whether the value is an IP address as written in full (1.2.3.4, ::1, fe80::1%eth0 with a plain zone)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return "%" not in value or bool(_ZONE_ID.fullmatch(value.partition("%")[2]))


def _number_like(value: str) -> bool:
    """Whether C's resolver would read the name as an IPv4 address in one of its old forms (127.1, 0x7f000001,
    2130706433, 017.0.0.1): ssh and ping would then dial an address the operator never wrote."""
    try:
        socket.inet_aton(value)
    except OSError:
        return False
    return True


def server_address(value: str) -> str:
    """A host name (labels of letters, digits and -, at most 63 each and 253 in all, the last one not all digits)
    or an IP address written in full; what `target.host`, `--host` and inventories name a server by."""
    if is_address(value):
        return value
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if _number_like(value) or (labels[-1].isdigit() and all(_HOST_LABEL.fullmatch(label) for label in labels)):
        raise ValueError(_("'{v}' is neither a host name nor an IP address: a name's last part is not all digits, "
                           "and an address is written in full (1.2.3.4 or ::1)").format(v=value))
    if len(name) > 253 or any(len(label) > 63 for label in labels):
        raise ValueError(_("'{v}...' is too long for a host name: at most 253 characters, at most 63 between two "
                           "dots").format(v=value[:40]))
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(_("'{v}' is not a host name or IP address: letters, digits and -, in parts separated by "
                           "dots (none empty, none starting or ending with -)").format(v=value))
    return value


def timezone(value: str) -> str:
    if not _ZONE.fullmatch(value) or ".." in value:
        raise ValueError(_("'{v}' is not a time zone name like Europe/Berlin or Asia/Shanghai").format(v=value))
    return value


def absolute_path(value: str) -> str:
    parts = value.split("/")
    if not value.startswith("/") or value == "/" or any(p in ("", ".", "..") for p in parts[1:]) or \
            not all(_PATH_PART.fullmatch(p) for p in parts[1:]):
        raise ValueError(_("'{v}' must be an absolute path of plain names (letters, digits, . _ - @ +), "
                           "no '..', spaces or trailing '/'").format(v=value))
    return value


def ssh_public_key(value: str) -> str:
    parts = value.strip().split()
    valid = len(parts) in (2, 3) and parts[0] in _KEY_TYPES and "\n" not in value.strip()
    if valid:
        try:
            blob = base64.b64decode(parts[1], validate=True)
            valid = blob[4:4 + len(parts[0])] == parts[0].encode()
        except ValueError:
            valid = False
    if not valid:
        raise ValueError(_("not an OpenSSH public key line ('ssh-ed25519 AAAA... comment'); paste the .pub file"))
    if len(parts) == 3 and not re.fullmatch(r"[\w.@+\-]+", parts[2]):
        raise ValueError(_("the key comment may only hold letters, digits and . @ + - _"))
    return " ".join(parts)


def secret_ref(value: str) -> str:
    if value == "prompt" or _ENV.fullmatch(value) or (value.startswith("file:") and len(value) > 5
                                                       and not _CONTROL.search(value)):
        return value
    raise ValueError(_("a secret must be a reference: env:NAME, file:/path or prompt (never the secret itself)"))


@dataclass(frozen=True)
class Prompted:
    """How a secret set to `prompt` is asked, beside the field that holds it (`Annotated[SecretRef, Prompted(...)]`).

    Why on the field: the front end asks every `prompt` secret before a plan or a run, and only the step knows
    what its secret is for. `title` and `text` are message ids of the model's catalog; `{user}` and `{host}`
    in them are the recipe's login. `new`: a password the run sets on the server, typed twice, because a typo
    would become the password; a function of the step's settings when they decide. A password the run only
    compares with one on the server is typed once, but only when it can never be the first one set there.
    """

    title: str
    text: str
    new: bool | Callable[[Any], bool] = False

    def is_new(self, settings: object) -> bool:
        """Whether the run sets this password, with these settings (typed twice when it does)."""
        return bool(self.new(settings)) if callable(self.new) else self.new


SecretRef = Annotated[str, AfterValidator(secret_ref)]
PackageName = Annotated[str, AfterValidator(package_name)]
UserName = Annotated[str, AfterValidator(user_name)]
NewUserName = Annotated[str, AfterValidator(new_user_name)]
HostName = Annotated[str, AfterValidator(hostname)]
TimeZone = Annotated[str, AfterValidator(timezone)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
SSHPublicKey = Annotated[str, AfterValidator(ssh_public_key)]


def control_character(value: Any) -> str | None:
    """The first control character in a value (a string, or strings inside lists, tuples and maps), as it is
    escaped in Python ("\\n"); None when there is none."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        return repr(found.group())[1:-1] if found else None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return None
    return next((c for c in map(control_character, items) if c), None)


MAX_ITEMS = 500  # items of one list or map setting (packages, keys, server names)
MAX_VALUE = 4096  # characters of one text value (a path's limit on Linux; a long RSA key line is under 3,000)
MAX_FIELD = 64 * 1024  # characters of one setting in all: far under the 128 KiB a server takes in one command


def size_problem(value: Any) -> str | None:
    """Why a value is too large to be a setting (too many items, too long a text, too much in all); None if not.

    Why: every setting ends up in a command line or a config file, and a command the server cannot take (Linux
    refuses one argument over 128 KiB) ends in a misleading "connection reset" long after the recipe was read.
    """
    items: list[Any] = []
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    if isinstance(value, dict | list | tuple) and len(value) > MAX_ITEMS:
        return _("{n} items are more than one setting takes (at most {limit}); split the work over several "
                 "recipes or runs").format(n=len(value), limit=MAX_ITEMS)
    texts = [value] if isinstance(value, str) else [item for item in items if isinstance(item, str)]
    longest = max(map(len, texts), default=0)
    if longest > MAX_VALUE:
        return _("a value of {n} characters is longer than any setting needs (at most {limit})").format(
            n=longest, limit=MAX_VALUE)
    if sum(map(len, texts)) > MAX_FIELD:
        return _("the values hold {n} characters in all, more than one setting takes (at most {limit})").format(
            n=sum(map(len, texts)), limit=MAX_FIELD)
    return None


def not_text_problem(value: Any) -> str | None:
    """Why a value is not Unicode text (None when it is): a lone surrogate is what Python makes of bytes that are
    not UTF-8 on the command line (`--set x=$'\\xff'`), and no file, command or message can carry it."""
    texts = [value] if isinstance(value, str) else [*value.keys(), *value.values()] if isinstance(value, dict) else \
        list(value) if isinstance(value, list | tuple) else []
    found = next((m for t in texts if isinstance(t, str) and (m := _SURROGATE.search(t))), None)
    if found:
        return _("the value holds {char}, which is not text (bytes that are not UTF-8?)").format(
            char=found.group().encode("utf-8", "backslashreplace").decode())
    return None


def _leaf_types(annotation: Any) -> set[Any]:
    """The types a field's annotation allows, without Annotated, Optional and unions (int | None -> {int, None})."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(arg) for arg in typing.get_args(annotation)))
    return {annotation}


def coercion_problem(value: Any, annotation: Any) -> str | None:
    """Why a value would change type to fit a number or yes/no field; None when it fits as it is.

    Why refuse what pydantic would convert: in YAML `port: true` reads as a yes/no, and pydantic turns it into
    port 1; `version: 1.0` and `keep_releases: 2.7` are numbers with a fraction, `gzip: 0` a number. Each is
    almost surely a slip, and converting it without a word changes what the recipe means.
    """
    allowed = _leaf_types(annotation)
    numbers = allowed & {int, float}
    if isinstance(value, bool):
        if numbers and bool not in allowed:
            return _("a number is expected here, not {value} (a yes/no value)").format(value=str(value).lower())
        return None
    if isinstance(value, float) and int in allowed and float not in allowed:
        return _("a whole number is expected here, not {value!r}").format(value=value)
    if isinstance(value, int | float) and bool in allowed and not numbers:
        return _("true or false is expected here, not the number {value!r}").format(value=value)
    return None


class PlainTextModel(BaseModel):
    """Settings whose text values are one line each, of a sane size, and of the field's own type.

    Why one guard for every field instead of a check per validator: a trailing newline slips through most
    patterns (Python's `$` matches before a final "\\n"), and a value with a line break ends a line in
    sudoers, a unit file or an env file and starts another the operator never wrote. Checked before the
    field's own validator, so the message says what is wrong in one line. A field that really holds several
    lines opts in by name in `control_characters_allowed`. The same guard refuses a value too large for any
    setting (size_problem) and a yes/no or a fraction where a number or a yes/no belongs (coercion_problem).
    """

    control_characters_allowed: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        problem = size_problem(value) or (coercion_problem(value, field.annotation) if field else None) or \
            not_text_problem(value)
        if problem:
            raise ValueError(problem)
        if info.field_name in cls.control_characters_allowed:
            return value
        char = control_character(value)
        if char is not None:
            raise ValueError(_("a line break or another control character ({char}) is not allowed here: it "
                               "would change what the value means in a command or a config file").format(char=char))
        return value


def _literal(ctx: Mapping[str, Any]) -> str:
    """pydantic's list of the allowed values ("'a', 'b' or 'c'") with its last word in the current language."""
    head, sep, last = str(ctx.get("expected", "")).rpartition(" or ")
    return head + _(" or ") + last if sep else last


# pydantic's own message templates as message ids: English reads exactly as pydantic says it
_PYDANTIC: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda c: _("required setting is missing"),
    "greater_than_equal": lambda c: _("Input should be greater than or equal to {ge}").format(ge=c.get("ge")),
    "less_than_equal": lambda c: _("Input should be less than or equal to {le}").format(le=c.get("le")),
    "greater_than": lambda c: _("Input should be greater than {gt}").format(gt=c.get("gt")),
    "less_than": lambda c: _("Input should be less than {lt}").format(lt=c.get("lt")),
    "int_parsing": lambda c: _("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": lambda c: _("Input should be a valid integer"),
    "int_from_float": lambda c: _("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": lambda c: _("Input should be a valid number, unable to parse string as a number"),
    "bool_parsing": lambda c: _("Input should be a valid boolean, unable to interpret input"),
    "bool_type": lambda c: _("Input should be a valid boolean"),
    "string_type": lambda c: _("Input should be a valid string"),
    "list_type": lambda c: _("Input should be a valid list"),
    "dict_type": lambda c: _("Input should be a valid dictionary"),
    "literal_error": lambda c: _("Input should be {expected}").format(expected=_literal(c)),
    "string_pattern_mismatch": lambda c: _("String should match pattern '{pattern}'").format(pattern=c.get("pattern")),
    "string_too_short": lambda c: n_("String should have at least {n} character",
                                     "String should have at least {n} characters", c["min_length"]).format(
                                         n=c["min_length"]),
    "string_too_long": lambda c: n_("String should have at most {n} character",
                                    "String should have at most {n} characters", c["max_length"]).format(
                                        n=c["max_length"]),
    "too_short": lambda c: n_("should have at least {n} item", "should have at least {n} items",
                              c["min_length"]).format(n=c["min_length"]),
    "too_long": lambda c: n_("should have at most {n} item", "should have at most {n} items",
                             c["max_length"]).format(n=c["max_length"]),
}


def validation_message(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ValidationError.errors()) as the operator reads it, in the current language.

    Why here: a form field, a recipe line and a `--set` all show the same message. Our own validators raise
    ValueError with an already translated message (pydantic prefixes it "Value error, "); the common pydantic
    types (ranges, numbers, lengths, choices) are translated from their context values; anything rarer keeps
    pydantic's English.
    """
    kind = str(error.get("type", ""))
    value = error.get("input")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        # YAML reads an unquoted 123 as a number: say so, and how to write it as text
        return _("{value} is read as a number here, where text is expected: put it in quotes ('{value}')").format(
            value=value)
    if kind in ("int_parsing", "float_parsing") and isinstance(value, str):
        return _("'{value}' is not a number").format(value=value[:60])
    known = _PYDANTIC.get(kind)
    if known is not None:
        try:
            return known(error.get("ctx") or {})
        except KeyError:  # a context without the value we expect: pydantic's own words
            pass
    return str(error.get("msg", "")).removeprefix("Value error, ")
