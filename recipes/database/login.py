"""The app's own database role (PostgreSQL) or user (MariaDB), with the password from the recipe's secret.

Why the password never travels: the server stores only a verifier (PostgreSQL: SCRAM-SHA-256; MariaDB:
the double-SHA1 native hash). The wizard computes that verifier locally from the secret, compares it with
the one stored, and when they differ sends the new verifier, never the password. A no-op run therefore
needs no password on the server at all, and nothing secret shows in `ps`, logs or the journal.
"""

from __future__ import annotations

from collections.abc import Iterator

from recipes.database.verifiers import mysql_native_hash, scram_matches, scram_verifier
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Ok, PlanError, RunCommand

_ = translator(__file__)


def _may_change_password(policy: str, ref: str, user: str) -> None:
    """A password that differs may be set only with password_policy: set (keep: the secret must be right)."""
    if policy == "keep":
        raise PlanError(_("the password of database role {user} differs from the secret {ref}, and "
                          "password_policy is keep: give the right secret, or use password_policy: set").format(
                              user=user, ref=ref))


def pg_role(state: dict[str, object], password: Secret, user: str, policy: str, ref: str) -> Iterator[Change | Ok]:
    """The app's PostgreSQL role with the secret's password: created, or its SCRAM verifier set when it differs."""
    verifier = state["verifier"]
    if not state["role"] or not scram_matches(password.reveal(), verifier if isinstance(verifier, str) else None):
        if state["role"]:
            _may_change_password(policy, ref, user)
        # Only the SCRAM verifier travels, and on stdin: the password never reaches the server.
        verb = "alter" if state["role"] else "create"
        literal = password.derive(f"'{scram_verifier(password.reveal())}'", "pg_literal")
        sql = Secret.join("database role SQL", f"{verb} role \"{user}\" login password ", literal, ";\n")
        why = (_("set the password of role {user} to the secret") if state["role"]
               else _("create the database role {user}")).format(user=user)
        yield RunCommand(why, cmd("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                  stdin=sql, display=f"runuser -u postgres -- psql -c "
                                                            f"\"{verb} role {user} login password '***'\""),
                         skip_if=sh('printf "%s\\n" "select 1 from pg_roles where rolname = :\'r\';" | '
                                    'runuser -u postgres -- psql -X -tA -v r="$1" | grep -qx 1', user)
                         if verb == "create" else None)
    else:
        yield Ok(_("role {user} exists with the right password").format(user=user))


def maria_user(state: dict[str, object], password: Secret, user: str, policy: str,
               ref: str) -> Iterator[Change | Ok]:
    """The app's MariaDB user with the secret's password: created, or its native hash set when it differs."""
    wanted = mysql_native_hash(password.reveal())
    if not state["user"] or state["hash"] != wanted:
        if state["user"]:
            _may_change_password(policy, ref, user)
        verb = "ALTER" if state["user"] else "CREATE"
        clause = password.derive(f"PASSWORD '{wanted}'", "mysql_literal")
        sql = Secret.join("database user SQL", f"{verb} USER '{user}'@'localhost' IDENTIFIED BY ", clause, ";\n")
        why = (_("set the password of role {user} to the secret") if state["user"]
               else _("create the database user {user}")).format(user=user)
        shown = f"mysql -e \"{verb} USER '{user}'@'localhost' IDENTIFIED BY PASSWORD '***'\""
        yield RunCommand(why, cmd("mysql", stdin=sql, display=shown), skip_if=sh(
            '[ "$(mysql -N -B -e "SELECT COUNT(*) FROM mysql.user WHERE User=\'$1\' AND Host=\'localhost\'")" '
            '= 1 ]',
            user) if verb == "CREATE" else None)
    else:
        yield Ok(_("role {user} exists with the right password").format(user=user))
