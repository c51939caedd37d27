"""The off-server copy as a restic repository (`offsite_kind: restic`): encrypted at rest, over sftp.

Why restic beside rsync: rsync stores the sets on the other host as they are here, readable by whoever holds that
host; restic encrypts and authenticates every snapshot with the repository's password, so the other host keeps
only ciphertext and cannot hand back a forged set. The password is a secret reference, written root's only
(0600) beside the scripts and never in the recipe. The repository is reached with the same key and the same
pinned host key as rsync's copy (sftp through ssh), created by the plan on first apply (`restic init`), given one
snapshot per backup set (tagged with its name) after every backup, and thinned with `restic forget --prune` by
the same keep_daily/keep_weekly as the sets here, after the timer's backups only (a deploy waits on its dump).
Every plan and `check` runs `restic check`: a wrong password, a repository that is gone or damaged stops the
plan naming the field. A changed password is checked against the repository before it replaces the working one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from recipes.backups.facts import SecretFile
from recipes.backups.offsite import Place
from wizard.engine.commands import Command, Secret, sh
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Later, Ok, PlanError, PutFile, RunCommand, file_change

_ = translator(__file__)

PACKAGES = ("restic",)


def password_file(place: Place) -> str:
    return place.key_file.rsplit("/", 1)[0] + "/restic_password"


def repository(place: Place) -> str:
    return f"sftp:{place.user}@{place.host}:{place.path}"


def sftp_command(place: Place) -> str:
    """How restic reaches the repository: ssh with the backups' own key and pinned host key, nothing else."""
    return (f"ssh -i {place.key_file} -o UserKnownHostsFile={place.known_file} -o StrictHostKeyChecking=yes "
            f"-o BatchMode=yes -o ConnectTimeout=20 -p {place.port} {place.user}@{place.host} -s sftp")


def conf(place: Place) -> dict[str, str]:
    """What backup.sh and restore.sh need (validated values: no spaces, quotes or shell syntax but sftp's)."""
    return {"OFFSITE": repository(place), "RESTIC_REPOSITORY": repository(place),
            "RESTIC_PASSWORD_FILE": password_file(place), "RESTIC_SFTP": sftp_command(place)}


def _restic(place: Place, *words: str) -> Command:
    return sh('RESTIC_PASSWORD_FILE="$1" RESTIC_REPOSITORY="$2" exec restic --no-cache -o sftp.command="$3" '
              + " ".join(f'"${n}"' for n in range(4, 4 + len(words))),
              password_file(place), repository(place), sftp_command(place), *words,
              display=f"restic -r {repository(place)} {' '.join(words)}")


@dataclass(frozen=True, eq=False)
class ResticRepo(Fact):
    """`restic check` of the repository, once restic, the key, the pinned host key and the password are on the
    server: ok, absent (no repository there yet), password (refused) or error (with restic's reason)."""

    user: str
    host: str
    port: int
    path: str
    key_file: str
    known_file: str

    kind = "restic"

    def place(self) -> Place:
        return Place(self.user, self.host, self.path, self.port, self.key_file, self.known_file)

    def command(self) -> Command:
        place = self.place()
        return sh('[ -f "$1" ] && [ -f "$2" ] && [ -f "$3" ] && command -v restic >/dev/null || { echo @@notyet; '
                  'exit 0; }; RESTIC_PASSWORD_FILE="$3" restic --no-cache --no-lock -r "$4" -o sftp.command="$5" '
                  'check </dev/null 2>&1; echo "@@rc $?"',
                  place.key_file, place.known_file, password_file(place), repository(place), sftp_command(place))

    def fresh(self) -> dict[str, str] | None:
        return None

    def requires(self) -> tuple[str, ...]:
        return PACKAGES

    def parse(self, out: str, status: int) -> dict[str, str] | None:
        lines = [line for line in out.splitlines() if line.strip()]
        if not lines or lines[0] == "@@notyet":
            return None
        said = [line for line in lines if not line.startswith("@@rc ")]
        fatal = next((line for line in said if line.startswith("Fatal:")), said[-1] if said else "?")
        if lines[-1] == "@@rc 0":
            return {"state": "ok", "detail": ""}
        if "wrong password" in out:
            return {"state": "password", "detail": fatal}
        if "unable to open config file" in out or "repository does not exist" in out:
            return {"state": "absent", "detail": fatal}
        return {"state": "error", "detail": fatal}


def facts(place: Place) -> list[Fact]:
    """restic itself is installed with ssh, in the off-server copy's one apt run (offsite.plan's packages)."""
    return [SecretFile(password_file(place)),
            ResticRepo(place.user, place.host, place.port, place.path, place.key_file, place.known_file)]


def _put_password(place: Place, change: PutFile) -> Iterator[Change]:
    """A changed password goes to restic_password.new first; it replaces the working file only once the
    repository accepts it (`restic cat config`), or when there is no repository yet (the next pass makes it
    with this password). Why: a wrong or rotated offsite_password written over the working file would make
    every nightly copy fail until someone noticed; refused, the step fails naming the field and the old file
    keeps working."""
    new = password_file(place) + ".new"
    yield replace(change, path=new, leaves=(), why=_("write the restic repository's new password beside the "
                                                     "working one (root's only)"))
    refused = _("backups.offsite_password: the restic repository {where} refuses this password; the password "
                "file on the server was left as it was").format(where=repository(place))
    failed = _("backups.offsite_target: restic could not read {where} to check the new password").format(
        where=repository(place))
    yield RunCommand(
        _("check the new password against the restic repository, then put it in place"),
        sh('out=$(RESTIC_PASSWORD_FILE="$1" restic --no-cache --no-lock -r "$3" -o sftp.command="$4" cat config '
           '</dev/null 2>&1); rc=$?; if [ "$rc" != 0 ]; then case "$out" in '
           '*"wrong password"*) rm -f -- "$1"; printf "%s\\n%s\\n" "$5" "$out" >&2; exit 1 ;; '
           '*"unable to open config file"*|*"repository does not exist"*) ;; '
           '*) rm -f -- "$1"; printf "%s\\n%s\\n" "$6" "$out" >&2; exit 1 ;; esac; fi; mv -f -- "$1" "$2"',
           new, password_file(place), repository(place), sftp_command(place), refused, failed,
           display=f"restic -r {repository(place)} cat config && mv {new} {password_file(place)}"),
        timeout=300, skip_if=sh('! [ -e "$1" ]', new), leaves=change.leaves)


def plan(place: Place, password: Secret, facts: FactValues, ready: bool,
         others: bool = False) -> Iterator[Change | Ok]:
    """`ready`: the login to the other host was checked in this pass (key and pin in place, room there);
    `others`: the step has other changes in this pass (the copy's packages, key or pin), so a Later may be said."""
    text = password if password.reveal().endswith("\n") else Secret.join("restic password", password, "\n")
    changes: list[Change] = []
    for item in file_change(_("write the restic repository's password (root's only)"), password_file(place),
                            text, facts[SecretFile(password_file(place))], mode="0600"):
        if isinstance(item, PutFile):  # the first one is written as it is: there is no working file to keep
            changes += _put_password(place, item) if item.old is not None else [item]
        else:
            yield item
    yield from changes
    state = facts[ResticRepo(place.user, place.host, place.port, place.path, place.key_file, place.known_file)]
    where = repository(place)
    if changes or not ready or state is None:
        # read again once restic, the password and the login are in place; the dry run says so (a pass with
        # nothing but a Later cannot run, so only beside other changes)
        if changes or others:
            yield Later(_("check the restic repository {where}, or create it (restic init)").format(where=where),
                        _("decided once restic, its password and the login to the other host are in place"))
        return
    if state["state"] == "absent":
        yield RunCommand(_("create the encrypted restic repository {where}").format(where=where),
                         _restic(place, "init"), timeout=300, skip_if=_restic(place, "cat", "config"))
    elif state["state"] == "password":
        raise PlanError(_("backups.offsite_password: the restic repository {where} refuses this password ({why})"
                          ).format(where=where, why=state["detail"]))
    elif state["state"] == "error":
        raise PlanError(_("backups.offsite_target: restic check of {where} failed: {why}").format(
            where=where, why=state["detail"]))
    else:
        yield Ok(_("restic check: the repository {where} has no errors").format(where=where))
