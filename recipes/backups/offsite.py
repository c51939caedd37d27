"""The off-server copy of the backups: rsync over SSH to a directory on another host, after every backup.

Why each piece: a backup on the server it protects is gone with that server. The server logs in to the other
host with a key of its own (a secret reference: the private key is written root's only, 0600, beside the
scripts), and accepts only the host key pinned in the recipe (`offsite_host_key`, as `ssh-keygen -lf` shows
it): the plan reads the keys the host offers (ssh-keyscan, from the server) and writes only the pinned one to
a known-hosts file of the backups' own, never `accept-new`. The plan also logs in and reads the free space of
the target directory, so an unreachable host, a refused key, a missing directory or a full disk stops the plan
naming the field, before a night's backup meets it. The copy mirrors the kept sets (`rsync --delete`): what
rotation removes here goes there too; the transfer is encrypted by SSH, the files at rest are as they are here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from recipes.backups.facts import SecretFile
from recipes.shared.apt import install_missing
from wizard.engine.commands import Command, Secret, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled
from wizard.engine.hostkeys import fingerprint_of
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Context, Ok, PlanError, PutFile, Warn, file_change
from wizard.engine.validators import server_address

_ = translator(__file__)

PACKAGES = ("rsync", "openssh-client")
TARGET = re.compile(r"^([a-z_][a-z0-9_-]{0,31})@([A-Za-z0-9.:\-]{1,253}):(/[A-Za-z0-9._/\-]{0,200})$")
SET_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9_.-]+$")
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def target(value: str) -> str:
    match = TARGET.match(value)
    if not match or ".." in match.group(3).split("/"):
        raise ValueError(_("'{v}' is not a place like backup@backups.example.com:/srv/backups/shop (user@host:/absolute"
                           "/path)").format(v=value))
    server_address(match.group(2))
    return value


def fingerprint(value: str) -> str:
    if not FINGERPRINT.match(value):
        raise ValueError(_("a host key is pinned as its SHA256 fingerprint, e.g. SHA256:abc... (43 characters after "
                           "SHA256:), as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` shows it on that host"))
    return value


@dataclass(frozen=True)
class Place:
    user: str
    host: str
    path: str
    port: int
    key_file: str
    known_file: str

    @classmethod
    def of(cls, text: str, port: int, folder: str) -> Place:
        user, host, path = TARGET.match(text).groups()  # type: ignore[union-attr]
        return cls(user, host, path, port, f"{folder}/offsite_key", f"{folder}/offsite_known_hosts")

    def conf(self) -> dict[str, str]:
        """What backup.sh needs (validated values: no spaces, quotes or shell syntax)."""
        return {"OFFSITE": f"{self.user}@{self.host}:{self.path}", "OFFSITE_SSH": (
            f"ssh -i {self.key_file} -o UserKnownHostsFile={self.known_file} -o StrictHostKeyChecking=yes "
            f"-o BatchMode=yes -o ConnectTimeout=20 -p {self.port}")}


@dataclass(frozen=True, eq=False)
class OffsiteState(Fact):
    """What the server meets at the other host: the host keys it offers (ssh-keyscan), and once the key and the
    known-hosts file are in place, a login and the target directory's free space (df), rsync and the backup sets
    there (ls)."""

    user: str
    host: str
    port: int
    path: str
    key_file: str
    known_file: str
    pin: str = field(default="", compare=False)

    kind = "offsite"

    def command(self) -> Command:
        # Once the known-hosts file holds the pinned key, its lines stand for the scan: the login checks the key
        # for real (StrictHostKeyChecking=yes), and every scan is a connection that never logs in, which OpenSSH
        # 9.8+ counts against this server (PerSourcePenalties: a few plans in a row and it refuses us).
        # -n and </dev/null: facts are one batch on one shell, whose input ssh would otherwise read away.
        return sh('echo @@scan; p="$2"; [ "$3" = 22 ] || p="[$2]:$3"; if [ -n "$7" ] && [ -f "$6" ] && '
                  'ssh-keygen -l -F "$p" -f "$6" 2>/dev/null | grep -qF -- " $7"; then cat -- "$6"; '
                  'else ssh-keyscan -T 10 -p "$3" -- "$2" </dev/null 2>/dev/null; fi; '
                  '[ -f "$5" ] && [ -f "$6" ] || exit 0; echo @@login; '
                  'ssh -n -i "$5" -o UserKnownHostsFile="$6" -o StrictHostKeyChecking=yes -o BatchMode=yes '
                  '-o ConnectTimeout=10 -p "$3" -- "$1@$2" '
                  '"df -Pk $4 && { ls -1 $4 || :; } && echo @@rsync && command -v rsync" </dev/null 2>&1; '
                  'echo "@@rc $?"',
                  self.user, self.host, str(self.port), self.path, self.key_file, self.known_file, self.pin)

    def fresh(self) -> dict[str, object]:
        return {"keys": None, "login": None}

    def requires(self) -> tuple[str, ...]:
        return ("openssh-client",)  # ssh-keyscan and ssh: rsync is not needed to answer

    def parse(self, out: str, status: int) -> dict[str, object]:
        keys: list[dict[str, str]] = []
        login: dict[str, object] | None = None
        part, lines = "", []
        for line in out.splitlines():
            if line in ("@@scan", "@@login"):
                part = line
            elif line.startswith("@@rc "):
                login = _login(lines, line[5:].strip() == "0")
            elif part == "@@scan" and len(line.split()) >= 3 and not line.startswith("#"):
                try:
                    keys.append({"line": " ".join(line.split()[1:3]),
                                 "fingerprint": fingerprint_of(" ".join(line.split()[1:3]))})
                except (ValueError, ImportError):
                    continue
            elif part == "@@login":
                lines.append(line)
        return {"keys": keys, "login": login}


def _login(lines: list[str], ok: bool) -> dict[str, object]:
    """ok: logged in and read the free space; rsync: rsync is there too (restic's copy needs sftp only)."""
    free = None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[3].isdigit():
            free = int(fields[3])
    reached = "@@rsync" in lines
    sets = sorted(line for line in lines if SET_NAME.match(line))
    return {"ok": reached and free is not None, "free_kb": free, "rsync": ok,
            "error": "" if reached else (lines[-1] if lines else "?"), "sets": sets}


def facts(place: Place, pin: str, packages: tuple[str, ...] = PACKAGES) -> list[Fact]:
    return [PackagesInstalled(packages), SecretFile(place.key_file), FileInfo(place.known_file),
            OffsiteState(place.user, place.host, place.port, place.path, place.key_file, place.known_file, pin)]


def plan(place: Place, pin: str, key: Secret, reserve_mb: int, facts: FactValues, ctx: Context,
         here: list[str], need_rsync: bool = True, packages: tuple[str, ...] = PACKAGES,
         ) -> Iterator[Change | Ok | Warn]:
    """`here`: the backup sets on the server (none on a server rebuilt from the recipe); `need_rsync`: the copy
    is rsync's (restic's needs sftp only); `packages`: what the copy needs on the server, in one apt run (ssh,
    and rsync or restic). A LoggedIn among what it yields: the login was checked."""
    # early (wizard.engine.behind): rsync's daemon starts only with an /etc/rsyncd.conf, which nothing writes;
    # restic starts nothing
    install = install_missing(packages, facts[PackagesInstalled(packages)], recommends=False, early=True)
    if install:
        yield install
    state = facts[OffsiteState(place.user, place.host, place.port, place.path, place.key_file, place.known_file)]
    if state["keys"] is None:  # a dry run before ssh is installed: read at run time
        return
    where = f"{place.host} port {place.port}"
    if not state["keys"]:
        raise PlanError(_("backups.offsite_target: {where} does not answer SSH from the server (is the host up, and "
                          "its SSH port open to this server?)").format(where=where))
    pinned = [k for k in state["keys"] if k["fingerprint"] == pin]
    if not pinned:
        raise PlanError(_("backups.offsite_host_key: {where} shows {found}, not the pinned {pin}: check the key on "
                          "that host (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)").format(
                              where=where, found=", ".join(sorted({k["fingerprint"] for k in state["keys"]})),
                              pin=pin))
    pattern = place.host if place.port == 22 else f"[{place.host}]:{place.port}"
    text = "".join(f"{pattern} {k['line']}\n" for k in pinned)
    changed = False
    key_text = key if key.reveal().endswith("\n") else Secret.join("offsite key", key, "\n")
    for change in [*file_change(_("pin the host key of {host} for the off-server copy").format(host=place.host),
                                place.known_file, text, facts[FileInfo(place.known_file)], mode="0600"),
                   *file_change(_("write the key the server logs in to {host} with (root's only)").format(
                       host=place.host), place.key_file, key_text, facts[SecretFile(place.key_file)], mode="0600")]:
        changed = changed or isinstance(change, PutFile)
        yield change
    if not changed and state["login"] is not None:  # checked once the key and the pin are in place
        yield check_login(place, state["login"], reserve_mb, need_rsync)
        if not here and state["login"].get("sets"):
            yield rebuilt_warning(place, state["login"]["sets"])


def rebuilt_warning(place: Place, there: list[str]) -> Warn:
    """No set on this server, some in the copy: a server rebuilt from the recipe, most likely. Its first backup
    would mirror its own one set over them (rsync --delete), so the operator hears it before the night does."""
    where = f"{place.user}@{place.host}:{place.path}"
    return Warn(_("the off-server copy {where} holds backup sets (the newest: {newest}) and this server none: the "
                  "first backup here replaces them with its own").format(where=where, newest=there[-1]),
                _("on a server rebuilt from the recipe, restore first: `deploy-wizard restore FILE --from "
                  "offsite:latest`"))


@dataclass
class LoggedIn(Ok):
    """The server logged in to the other host and found room there, in this pass."""


def check_login(place: Place, login: dict[str, object], reserve_mb: int, need_rsync: bool = True) -> Ok:
    """A login to the other host that works, with room there; anything else stops the plan naming the field."""
    where = f"{place.user}@{place.host}:{place.path}"
    error = str(login.get("error") or "")
    if not login["ok"]:
        if "Host key verification failed" in error:
            raise PlanError(_("backups.offsite_host_key: {host} no longer shows the pinned key: check the key on "
                              "that host (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)").format(host=place.host))
        if "Permission denied" in error:
            raise PlanError(_("backups.offsite_key: {user}@{host} refuses the key: add its public key to {user}'s "
                              "~/.ssh/authorized_keys there").format(user=place.user, host=place.host))
        if "No such file" in error:
            raise PlanError(_("backups.offsite_target: there is no directory {path} on {host}: create it, writable "
                              "by {user}").format(path=place.path, host=place.host, user=place.user))
        if "rsync" in error or login["free_kb"] is not None:
            raise PlanError(_("backups.offsite_target: {host} has no rsync: install it there").format(host=place.host))
        raise PlanError(_("backups.offsite_target: the server cannot log in to {where}: {why}").format(
            where=where, why=error))
    if need_rsync and login.get("rsync") is False:
        raise PlanError(_("backups.offsite_target: {host} has no rsync: install it there").format(host=place.host))
    free_mb = int(str(login["free_kb"])) // 1024
    if free_mb < reserve_mb:
        raise PlanError(_("backups.offsite_target: only {free} MiB free in {where}, less than "
                          "backups.free_reserve_mb ({reserve})").format(free=free_mb, where=where, reserve=reserve_mb))
    return LoggedIn(_("the server logs in to {where} ({free} MiB free there)").format(where=where, free=free_mb))
