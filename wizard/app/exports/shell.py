"""The shell export: a bash script that replays a recorded first apply, guarded and re-runnable.

Why this shape: reviewers read it top to bottom, so each change is its `why` as a comment, the guard that
skips it when it is already in place, and the exact command deploy-wizard ran. Files are written by one
helper that compares before writing and backs up what it replaces, like the wizard does. Secrets are read
from environment variables (never written here); a second run prints "0 changes".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from wizard.app.exports.common import COVERS, ExportError, SecretVar, as_root, leaves, secret_vars
from wizard.app.recording import Recording
from wizard.engine.commands import Command, Secret, quote
from wizard.engine.i18n import _
from wizard.engine.step import Change, ProveLogin, PutFile, RunCommand, WaitForOperator
from wizard.engine.transports.base import BACKUP_DIR

HELPERS = r"""
DW_CHANGES=0
DW_STEP_CHANGES=0
trap 'echo "deploy-wizard export: stopped at line $LINENO (exit $?); nothing after it ran" >&2' ERR

dw_step() { DW_STEP_CHANGES=0; printf '\n== %s\n' "$1"; }
dw_did() { DW_CHANGES=$((DW_CHANGES + 1)); DW_STEP_CHANGES=$((DW_STEP_CHANGES + 1)); printf '  + %s\n' "$1"; }

# dw_put PATH MODE OWNER GROUP CHECK CONTENT: 0 = written, 1 = already so. A failing CHECK puts the old file back.
dw_put() {
  local path=$1 mode=$2 owner=$3 group=$4 check=$5 tmp backup had=0
  tmp=$(mktemp)
  printf '%s' "$6" > "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path" &&
      [ "$(stat -c '%a %U %G' "$path")" = "$(printf '%o' $((8#$mode))) $owner $group" ]; then
    rm -f "$tmp"; return 1
  fi
  backup="BACKUP_DIR/$(printf '%s' "${path#/}" | tr / %).bak"
  mkdir -p -m 0700 BACKUP_DIR
  if [ -e "$path" ]; then cp -a "$path" "$backup"; had=1; else mkdir -p "${path%/*}"; fi
  install -m "$mode" -o "$owner" -g "$group" "$tmp" "$path.dw-new" && mv -f "$path.dw-new" "$path"
  rm -f "$tmp"
  if [ -n "$check" ] && ! sh -c "$check"; then
    if [ "$had" = 1 ]; then cp -a "$backup" "$path"; else rm -f "$path"; fi
    echo "deploy-wizard export: the check failed; the previous $path was put back" >&2; exit 1
  fi
  return 0
}

dw_pause() {
  if [ -r /dev/tty ] && [ -t 1 ]; then
    printf '\n%s\nPress Enter when done. ' "$1"; read -r _ < /dev/tty
  else
    printf 'deploy-wizard export: an operator is needed:\n%s\nRun this script again afterwards.\n' "$1" >&2; exit 1
  fi
}

# A local stand-in for deploy-wizard's fresh SSH login: sshd listens on PORT, the firewall lets it in, and USER
# (when given) has keys. It cannot prove a login from outside; check one yourself before closing this session.
dw_prove_ssh() {
  ss -ltn | grep -Eq "[:.]$1[[:space:]]" || { echo "deploy-wizard export: nothing listens on port $1" >&2; exit 1; }
  if ufw status 2>/dev/null | grep -q '^Status: active'; then
    ufw status | grep -Eq "^$1(/tcp)?[[:space:]].*ALLOW" ||
      { echo "deploy-wizard export: port $1 is not allowed" >&2; exit 1; }
  fi
  if [ -n "${2:-}" ]; then
    local home; home=$(getent passwd "$2" | cut -d: -f6)
    [ -s "$home/.ssh/authorized_keys" ] || { echo "deploy-wizard export: $2 has no SSH keys" >&2; exit 1; }
  fi
}

dw_urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac
  done
  printf '%s' "$out"
}
dw_sql_literal() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
dw_mysql_literal() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
""".replace("BACKUP_DIR", BACKUP_DIR).strip()

EXPRESSIONS = {"": '"${v}"', "env_value": '"${v}"', "url": '"$(dw_urlencode "${v}")"',
               "pg_literal": '"$(dw_sql_literal "${v}")"', "mysql_literal": '"$(dw_mysql_literal "${v}")"'}

Word = Callable[[Secret], str]


def _word_for(variables: dict[str, SecretVar]) -> Word:
    def word(secret: Secret) -> str:
        return text_word(secret, word) if secret.parts is not None else \
            EXPRESSIONS[secret.form].replace("{v}", variables[str(secret.ref)].variable)
    return word


def text_word(text: str | Secret, word: Word) -> str:
    """One shell word for a text that may be assembled from secrets: quoted pieces and expansions."""
    if isinstance(text, str):
        return quote(text)
    if text.parts is None:
        return word(text)
    return "".join(quote(p) if isinstance(p, str) else word(p) for p in text.parts if p != "") or "''"


def shell_line(command: Command, word: Word) -> str:
    """What deploy-wizard's transport runs, as root in a script: runuser for another user, a subshell for env."""
    if command.user and command.user != "root" and command.secrets():
        raise ExportError(_("a command run as {user} carries a secret: {command}").format(
            user=command.user, command=command.masked()))
    line = as_root(command, word)
    if command.stdin is not None:
        line = f"printf '%s' {text_word(command.stdin, word)} | {line}"
    return line


def _unless(guard: Command, word: Word) -> str:
    return f"if ! {{ {shell_line(guard, word)}; }} >/dev/null 2>&1; then"


def _guarded(change: Change, word: Word, body: list[str]) -> list[str]:
    if change.after_change:
        head = 'if [ "$DW_STEP_CHANGES" -gt 0 ]; then'
    elif change.skip_if is not None:
        head = _unless(change.skip_if, word)
    else:
        return ["# no shell test can tell whether this is needed: it always runs",
                f"dw_did {quote(change.why)}", *body]
    return [head, f"  dw_did {quote(change.why)}", *(f"  {line}" for line in body), "fi"]


def _change(change: Change, word: Word, ssh_port: int) -> list[str]:
    lines = [f"# {change.why}"]
    if isinstance(change, PutFile):
        content = change.source if change.source is not None else change.content.decode("utf-8")
        check = change.check.render(word) if change.check else ""
        put = [f"if dw_put {quote(change.path)} {change.mode} {quote(change.owner)} {quote(change.group)} "
               f"{quote(check)} {text_word(content, word)}; then", f"  dw_did {quote(change.why)}", "fi"]
        if change.skip_if is None:
            return lines + put
        return lines + [_unless(change.skip_if, word), *(f"  {line}" for line in put), "fi"]
    if isinstance(change, RunCommand):
        if change.ok_codes != (0,):
            raise ExportError(_("'{what}' accepts exit codes {codes}; the shell export cannot").format(
                what=change.why, codes=change.ok_codes))
        if change.command.display:
            lines.append(f"# $ {change.command.display}")
        return lines + _guarded(change, word, [shell_line(change.command, word)])
    if isinstance(change, WaitForOperator):
        return lines + _guarded(change, word, [f"dw_pause {quote(change.message)}"])
    if isinstance(change, ProveLogin):
        return lines + _guarded(change, word, [f"dw_prove_ssh {ssh_port}" + (
            f" {quote(change.user)}" if change.user else "")])
    raise ExportError(_("the shell export does not know {kind}").format(kind=type(change).__name__))


def shell_script(recording: Recording, source: str) -> str:
    variables = secret_vars(recording)
    word = _word_for(variables)
    recipe = recording.recipe
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = ["#!/usr/bin/env bash",
           f"# {recipe.name}: made by `deploy-wizard export {source} --format shell` on {now}.",
           f"# Recorded from a real apply on a fresh server ({recording.host}: {recording.system or '?'}); replays",
           "# it on a fresh server of that release: run as root on the server. Every change is skipped when it is",
           "# already in place, so running it again changes nothing. Releases are pinned to the commits recorded;",
           "# re-export for new ones.",
           "# deploy-wizard itself does more on later runs (password and drift checks, renewals, rollbacks).",
           *COVERS]
    if variables:
        out.append("# Secrets (never in this file) come from the environment:")
        out += [f"#   {v.variable}  ({v.label}, recipe: {v.ref})" for v in variables.values()]
    out += ["set -euo pipefail", "",
            'if [ "$(id -u)" != 0 ]; then echo "deploy-wizard export: run as root" >&2; exit 1; fi']
    for v in variables.values():
        out.append(f'if [ -z "${{{v.variable}:-}}" ]; then echo "deploy-wizard export: set {v.variable} '
                   f'({v.label})" >&2; exit 1; fi')
        out.append(f'case ${v.variable} in *$\'\\n\'*) echo "deploy-wizard export: {v.variable} holds a new line" '
                   f'>&2; exit 1;; esac')
    for leaf in {leaf.ref: leaf for c in recording.changes() for leaf in _env_leaves(c)}.values():
        name = variables[str(leaf.ref)].variable
        out.append(f"case ${name} in *\\'*) echo \"deploy-wizard export: {name} holds a single quote, which an env "
                   f"file cannot carry\" >&2; exit 1;; esac")
    out += ["", HELPERS]
    total = len(recording.steps)
    for number, step in enumerate(recording.steps, start=1):
        out += ["", f"dw_step {quote(f'{number}/{total} {step.title}')}"]
        for change in step.changes:
            out += _change(change, word, recipe.target.port)
    out += ["", 'printf \'\\ndeploy-wizard export: %s changes\\n\' "$DW_CHANGES"', ""]
    return "\n".join(out)


def _env_leaves(change: Change) -> list[Secret]:
    if isinstance(change, PutFile) and change.source is not None:
        return [leaf for leaf in leaves(change.source) if leaf.form == "env_value"]
    return []
