"""The deploy lock: one apply or rollback of an app on a server at a time, and never a lock that outlives its
holder for long.

Why on the server and why a heartbeat: two operators (or an operator and a CI job) work from different machines,
so only the server can arbitrate, and `flock` does it atomically. The lock is held by a small process on the
server that exits on its own when the controller stops touching the holder file for `ttl` seconds: a run killed
with -9, a laptop closed mid-deploy or a network gone silent frees the lock within `ttl`, without anyone
breaking it. While it is held, the holder file says who holds it (operator, machine, pid, since) and how fresh
its heartbeat is, so the one who waits knows whom to ask. Breaking it by hand (`--break-lock`) stops that
process after the operator confirmed.

As root in /run/deploy-wizard/locks (root's, mode 0700): nothing there is a path a less privileged user controls.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from wizard.engine.commands import sh
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _
from wizard.engine.transports.base import Result, Transport

LOCK_DIR = "/run/deploy-wizard/locks"
TTL = 20  # seconds without a heartbeat before the holder process lets go
HEARTBEAT = 5

# $1 dir, $2 app, $3 the holder line (token operator machine pid since), $4 seconds to wait, $5 ttl, $6 the
# LEFT_BEHIND script: once acquired, what an earlier run left running is listed in the same round trip
ACQUIRE = r'''
dir="$1"; app="$2"; who="$3"; wait="$4"; ttl="$5"; left="$6"
mkdir -p -m 0700 "$dir" && chmod 0700 "$dir" && { [ "$(id -u)" != 0 ] || chown root:root "$dir"; } || exit 1
lock="$dir/$app.lock"; info="$dir/$app.holder"
exec 9>>"$lock" || exit 1
if ! flock -w "$wait" 9; then
  now=$(date +%s); beat=$(stat -c %Y "$info" 2>/dev/null || echo "$now")
  printf 'held %s ' "$((now - beat))"; head -n 1 "$info" 2>/dev/null; exit 75
fi
printf '%s\n' "$who" > "$info.new" && mv -f "$info.new" "$info" || exit 1
setsid sh -c 'while [ -e "$1" ] && [ $(($(date +%s) - $(stat -c %Y "$1" 2>/dev/null || echo 0))) -lt "$2" ]; do
  sleep 1 9>&-; done' deploy-wizard-lock "$info" "$ttl" </dev/null >/dev/null 2>&1 &
printf '%s\n' "$!" >> "$info"
echo acquired
sh -c "$left" left-behind "$app"
'''
# $1 the app: processes a run of it started (each change command carries DEPLOY_WIZARD_RUN=APP.TOKEN), as
# "PID command line"; a run's own commands never overlap its lock, so any found here belong to an earlier run.
# One grep reads every process's environment (not one grep per process: ~150 on a served app, most of the lock's
# round trip); process ids have no spaces, so the word split of its list of files is safe.
LEFT_BEHIND = r'''
for f in $(grep -laF "DEPLOY_WIZARD_RUN=$1." /proc/[0-9]*/environ 2>/dev/null); do
  p=${f#/proc/}; p=${p%/environ}
  printf '%s %s\n' "$p" "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-160)"
done; exit 0
'''
LEFT_BEHIND_WAIT = 900  # seconds: an interrupted apt install or migration finishes well within this
# $1 holder file, $2 token: only the holder that wrote the token touches or removes it
HEARTBEAT_SCRIPT = r'''head -n 1 "$1" 2>/dev/null | grep -q "^$2 " && touch "$1"'''
RELEASE = r'''
head -n 1 "$1" 2>/dev/null | grep -q "^$2 " || exit 0
pid=$(sed -n 2p "$1"); rm -f "$1"
[ -n "$pid" ] && grep -q deploy-wizard-lock "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"; exit 0
'''
# $1 holder file: stop whoever holds it (after the operator confirmed)
BREAK = r'''
pid=$(sed -n 2p "$1" 2>/dev/null); rm -f "$1"
[ -n "$pid" ] && grep -q deploy-wizard-lock "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"; sleep 1; exit 0
'''


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as its holder file says, and how many seconds ago it last showed a sign of life."""

    operator: str
    machine: str
    pid: str
    since: str
    silent: int

    def describe(self) -> str:
        return _("{operator} on {machine} (pid {pid}) since {since}, last heard from {silent} s ago").format(
            operator=self.operator, machine=self.machine, pid=self.pid, since=self.since, silent=self.silent)


class LockHeld(DeployWizardError):
    """Another run holds the app's deploy lock on this server."""

    exit_code = ExitCode.BUSY

    def __init__(self, host: str, holder: Holder | None) -> None:
        self.holder = holder
        who = holder.describe() if holder else _("someone (the lock's holder file cannot be read)")
        super().__init__(_("another deploy of this app runs on {host}: {who}. Wait for it (--lock-wait SECONDS); "
                           "if that run is gone, the lock frees itself {ttl} s after it stopped answering, and "
                           "`deploy-wizard unlock` with the recipe breaks it at once.").format(host=host, who=who,
                                                                                                ttl=TTL))


def _holder(line: str) -> Holder | None:
    """Parse `held SILENT TOKEN OPERATOR MACHINE PID SINCE`."""
    words = line.split()
    if len(words) < 7 or words[0] != "held" or not words[1].lstrip("-").isdigit():
        return None
    return Holder(words[3], words[4], words[5], words[6], int(words[1]))


def _gone(holder: Holder) -> bool:
    """The holder is a deploy-wizard process of this machine that no longer runs: its lock is stale."""
    if holder.machine != socket.gethostname().replace(" ", "_") or not holder.pid.isdigit():
        return False
    try:
        os.kill(int(holder.pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def holder_line(token: str) -> str:
    """What the holder file's first line says about this run; no spaces inside a field."""
    operator = (os.environ.get("DEPLOY_WIZARD_OPERATOR") or getpass.getuser()).replace(" ", "_")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"{token} {operator} {socket.gethostname().replace(' ', '_')} {os.getpid()} {since}"


def _paths(app: str) -> str:
    return f"{LOCK_DIR}/{app}.holder"


async def _acquire(transport: Transport, app: str, token: str, wait: int) -> Result:
    """One try at the lock: exit 75 with the holder's line when another run holds it after `wait` seconds."""
    return await transport.run(sh(ACQUIRE, LOCK_DIR, app, holder_line(token), str(wait), str(TTL), LEFT_BEHIND),
                               timeout=wait + 60)


async def break_lock(transport: Transport, app: str) -> None:
    result = await transport.run(sh(BREAK, _paths(app)))
    if not result.ok:
        raise DeployWizardError(_("could not break the deploy lock on {host}: {why}").format(
            host=transport.label, why=(result.stderr or result.stdout).strip()))


async def peek(transport: Transport, app: str) -> Holder | None:
    """Who holds the lock now (None: nobody), without taking it."""
    token = secrets.token_hex(8)
    result = await _acquire(transport, app, token, 0)
    if result.exit_status == 75:
        return _holder(result.stdout.strip())
    if "acquired" in result.stdout:  # it was free: let go of the lock just taken
        await transport.run(sh(RELEASE, _paths(app), token))
    return None


def run_tag(app: str, token: str) -> tuple[str, str]:
    """The variable every change command of a run carries, so the next run can find what this one left running."""
    return ("DEPLOY_WIZARD_RUN", f"{app}.{token}")


async def wait_for_left_behind(transport: Transport, app: str, say: Callable[[str], None], *,
                               limit: float = LEFT_BEHIND_WAIT, every: float = 2.0,
                               first: list[str] | None = None) -> None:
    """Wait until no command of an earlier run of the app still runs on the server.

    Why: a dropped connection does not stop what it started; a migration or an apt install goes on without its
    controller. The lock is free by then (its holder was gone, or broken), and the next run would start the same
    command beside it: a migration twice at once, a second dpkg. So the run that takes the lock first waits for
    them to end, and says which they are. `first`: the list as the lock's acquisition already read it."""
    waited = 0.0
    while True:
        if first is None:
            result = await transport.run(sh(LEFT_BEHIND, app))
            first = result.stdout.splitlines()
        left, first = [line for line in first if line.strip()], None
        if not left:
            return
        if waited >= limit:
            raise DeployWizardError(_("commands of an earlier run of {app} still run on {host} after {n} s:\n{list}\n"
                                      "Stop them (or wait), then run again.").format(
                app=app, host=transport.label, n=int(waited), list="\n".join(f"  PID {line}" for line in left)))
        if waited == 0:
            say(_("waiting for what an interrupted run left running on the server to finish:\n{list}").format(
                list="\n".join(f"PID {line}" for line in left)))
        await asyncio.sleep(every)
        waited += every


@asynccontextmanager
async def deploy_lock(transport: Transport, app: str, *, wait: int = 0, on_lost: Callable[[], None] | None = None,
                      say: Callable[[str], None] | None = None) -> AsyncIterator[tuple[str, str]]:
    """Hold the app's deploy lock on this server for the block; LockHeld when another run holds it. Yields the
    variable (run_tag) the run's change commands carry; what an earlier run left running is waited for first."""
    token = secrets.token_hex(8)
    result = await _acquire(transport, app, token, wait)
    if result.exit_status == 75:
        holder = _holder(result.stdout.strip())
        if holder is None or not _gone(holder):
            raise LockHeld(transport.label, holder)
        # a run of this machine that is gone (a dropped connection, then `apply --resume`): no need to wait
        await break_lock(transport, app)
        result = await _acquire(transport, app, token, wait)
        if result.exit_status == 75:
            raise LockHeld(transport.label, _holder(result.stdout.strip()))
    if not result.ok or "acquired" not in result.stdout:
        raise DeployWizardError(_("could not take the deploy lock on {host}: {why}").format(
            host=transport.label, why=(result.stderr or result.stdout).strip()))

    # Why a flag beside cancel(): on Python 3.11, asyncio.wait_for (every command's timeout) returns the command's
    # result instead of raising when the cancellation arrives as the command ends, so a cancel alone can be lost;
    # the heartbeat then ran, the lock stayed held and the run never ended (3 hosts of a 50-host fleet, under load).
    stop = asyncio.Event()

    async def beat() -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEARTBEAT)
            if stop.is_set():
                return
            alive = await transport.run(sh(HEARTBEAT_SCRIPT, _paths(app), token))
            if not alive.ok and on_lost is not None:
                on_lost()
                return

    task = asyncio.create_task(beat())
    try:
        listed = result.stdout.partition("acquired\n")[2].splitlines()
        await wait_for_left_behind(transport, app, say or (lambda text: None), first=listed)
        yield run_tag(app, token)
    finally:
        stop.set()
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
        with suppress(Exception):
            await transport.run(sh(RELEASE, _paths(app), token))
