"""Validated value types shared by every step's settings.

Why strict allow-lists: these values end up in shell commands (quoted anyway) and in config files (where
quoting does not exist). A name that could carry a newline, a semicolon or `..` into nginx, sudoers or a
unit file is refused here with a message that says what is allowed, long before anything is written.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated

from pydantic import AfterValidator

from wizard.engine.i18n import _

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
RESERVED_USERS = {"root", "daemon", "bin", "sys", "nobody", "www-data", "postgres", "sshd"}


def package_name(value: str) -> str:
    if not _PACKAGE.match(value):
        raise ValueError(_("'{v}' is not a valid Debian package name (lower-case letters, digits, + - .)").format(
            v=value))
    return value


def user_name(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(_("'{v}' is not a valid user name: start with a-z or _, then up to 31 of a-z 0-9 _ -").format(
            v=value))
    return value


def new_user_name(value: str) -> str:
    user_name(value)
    if value in RESERVED_USERS:
        raise ValueError(_("'{v}' is a system account; choose a name of its own for the app").format(v=value))
    return value


def hostname(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(_("'{v}' is not a valid host name: labels of a-z 0-9 and -, separated by dots").format(
            v=value))
    return value


def timezone(value: str) -> str:
    if not _ZONE.match(value) or ".." in value:
        raise ValueError(_("'{v}' is not a time zone name like Europe/Berlin or Asia/Shanghai").format(v=value))
    return value


def absolute_path(value: str) -> str:
    parts = value.split("/")
    if not value.startswith("/") or value == "/" or any(p in ("", ".", "..") for p in parts[1:]) or \
            not all(_PATH_PART.match(p) for p in parts[1:]):
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
    if len(parts) == 3 and not re.match(r"^[\w.@+\-]+$", parts[2]):
        raise ValueError(_("the key comment may only hold letters, digits and . @ + - _"))
    return " ".join(parts)


def secret_ref(value: str) -> str:
    if value == "prompt" or _ENV.match(value) or (value.startswith("file:") and len(value) > 5):
        return value
    raise ValueError(_("a secret must be a reference: env:NAME, file:/path or prompt (never the secret itself)"))


SecretRef = Annotated[str, AfterValidator(secret_ref)]
PackageName = Annotated[str, AfterValidator(package_name)]
UserName = Annotated[str, AfterValidator(user_name)]
NewUserName = Annotated[str, AfterValidator(new_user_name)]
HostName = Annotated[str, AfterValidator(hostname)]
TimeZone = Annotated[str, AfterValidator(timezone)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
SSHPublicKey = Annotated[str, AfterValidator(ssh_public_key)]
