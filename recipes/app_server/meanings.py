"""What must hold for the app_server step, however it was reached (wizard.engine.meaning).

Why only the socket here: that the app answers through it the way nginx asks is the step's own health check
(gate.verify_live), which grading runs too; a unit written by hand with another name or other options is a
difference from the recommended setup, but without the socket nginx answers 502 whatever else is right.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from recipes.shared.meanings import Probe
from recipes.shared.web import media_root, static_files, static_root
from wizard.engine.commands import Secret
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning, covering
from wizard.engine.step import Context, PlanError

_ = translator(__file__)


def socket_meaning(ctx: Context) -> Meaning:
    """The socket nginx connects to exists (systemd holds it)."""
    probe = Probe('[ -S "$1" ]', (ctx.socket,))

    def test(facts: FactValues) -> str | None:
        if facts[probe].ok:
            return None
        return _("there is no socket {path}: nginx gets \"No such file or directory\" and answers 502; "
                 "`systemctl status {app}.socket`").format(path=ctx.socket, app=ctx.app)

    return Meaning(_("the socket {path} exists").format(path=ctx.socket), (probe,), test)


class EnvSettings(Protocol):
    env: dict[str, str]
    secret_env: dict[str, str]


EnvValue = tuple[str, str | Secret, bool]  # name, value, written in single quotes


def env_values(s: EnvSettings, ctx: Context) -> list[EnvValue]:
    """What app.env gives the app, in the file's order: where static and media files go, then the recipe's."""
    static = static_files(ctx)
    values: list[EnvValue] = []
    if static:
        values.append(("STATIC_ROOT", static_root(static, ctx), False))
        if static.media:
            values.append(("MEDIA_ROOT", media_root(ctx), False))
    values += [(k, v, True) for k, v in sorted(s.env.items())]
    for name, ref in sorted(s.secret_env.items()):
        value = ctx.secret(ref, f"app_server.secret_env.{name}")
        if "\n" in value.reveal() or "'" in value.reveal():
            raise PlanError(_("the secret for {name} holds a new line or a single quote, which an env file "
                              "cannot carry").format(name=name))
        values.append((name, value, True))
    return values


def env_content(values: list[EnvValue]) -> str | Secret:
    lines = ["# Managed by deploy-wizard (step app_server)."]
    lines += [f"{name}='{value}'" if quoted else f"{name}={value}"
              for name, value, quoted in values if not isinstance(value, Secret)]
    text = "\n".join(lines) + "\n"
    secrets = [(name, value) for name, value, _quoted in values if isinstance(value, Secret)]
    if not secrets:
        return text
    parts: list[str | Secret] = [text]
    for name, value in secrets:
        parts += [f"{name}='", value.derive(value.reveal(), "env_value"), "'\n"]
    return Secret.join("app.env", *parts)


# $1 the app user, $2 the env file, then the names. As the app user (facts are asked as root, so runuser): the
# file read the way a shell reads it (systemd's EnvironmentFile takes the same simple lines), and each name with
# the sha256 of its value, or "-" when unset: the values, secrets among them, never leave the server. Exit 4: the
# app user cannot read the file; another failure: it does not read as shell assignments (sh exits 2 on a syntax
# error in a file it sources).
ENV_FILE = r'''
u=$1; shift
exec runuser -u "$u" -- sh -s -- "$@" <<'SH'
f=$1; shift
[ -r "$f" ] || exit 4
set -a; . "$f" || exit 3; set +a
for n; do
  if v=$(printenv "$n"); then printf '%s %s\n' "$n" "$(printf %s "$v" | sha256sum | cut -c1-64)"; else echo "$n -"; fi
done
SH
'''


def env_meaning(values: list[EnvValue], path: str, user: str) -> Meaning:
    """The app finds each variable of the recipe with its value in `path` (any order, comments or quoting)."""
    probe = Probe(ENV_FILE, (user, path, *(name for name, _value, _quoted in values)))
    wanted = {name: hashlib.sha256((value.reveal() if isinstance(value, Secret) else value).encode()).hexdigest()
              for name, value, _quoted in values}

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.status == 4:
            return _("{user} cannot read {path}").format(user=user, path=path)
        if not answer.ok:
            return _("{path} does not read as an env file: {error}").format(path=path, error=answer.output or "?")
        found = dict(line.split(" ", 1) for line in answer.output.splitlines() if " " in line)
        unset = [name for name in wanted if found.get(name, "-") == "-"]
        if unset:
            return _("{path} does not set {names}").format(path=path, names=", ".join(unset))
        other = [name for name, digest in wanted.items() if found[name] != digest]
        if other:
            return _("{path} sets {names} to another value than the recipe's").format(path=path, names=", ".join(other))
        return None

    return Meaning(_("{user} finds each of the app's variables with the recipe's value in {path}").format(
        user=user, path=path), (probe,), test, covers=covering(path))


__all__ = ["env_content", "env_meaning", "env_values", "socket_meaning"]
