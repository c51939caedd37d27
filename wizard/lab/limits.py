"""This machine's inotify limits, raised (never lowered) so that many sandboxes can boot side by side.

Why: every sandbox is a booted systemd, and systemd, dbus, getty and each login's ``systemd --user`` take
inotify instances. The guests share this machine's users (no user namespace), so all of them count against one
per-user limit, ``fs.inotify.max_user_instances``, which is 128 by default: measured here, the 20th sandbox
froze at boot ("Failed to allocate manager object: Too many open files" on its console). Before each ``up``
the limit is compared with what the running sandboxes plus the new one may need (a generous budget per
sandbox, measured at 6-7 instances right after boot, more with logins), and only when it falls short it is
raised, once, to what the lab's maximum of sandboxes needs, saying what changed and why. The change lasts until
this machine reboots (nothing is written to /etc). Where it cannot be raised (a read-only /proc/sys in a
container), ``up`` says so with the command to run, and goes on: the budget is generous, the boot may pass;
when it does not, the boot error says the same (``explain_boot_failure``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.engine.i18n import _
from wizard.lab.host import Progress

SYSCTL_DIR = Path("/proc/sys/fs/inotify")
MAX_SANDBOXES = 200  # the subnet indexes instance.py hands out


@dataclass(frozen=True)
class Limit:
    """One sysctl: what this machine keeps for its own programs, and a budget per sandbox."""

    name: str  # under fs.inotify
    reserve: int  # the kernel's default instances / a floor of watches, left to this machine's own programs
    per_sandbox: int

    @property
    def key(self) -> str:
        return f"fs.inotify.{self.name}"

    def needed(self, sandboxes: int) -> int:
        return self.reserve + self.per_sandbox * sandboxes


# Measured right after boot: 6 instances and about 25 watches per sandbox as root (systemd 5, agetty 1), plus
# dbus's under its own user. A login adds a `systemd --user` (more instances, hundreds of watches).
LIMITS = (
    Limit("max_user_instances", reserve=128, per_sandbox=16),
    Limit("max_user_watches", reserve=8192, per_sandbox=1024),
)


def _read(limit: Limit) -> int:
    return int((SYSCTL_DIR / limit.name).read_text().split()[0])


def _persist_hint(limit: Limit, value: int) -> str:
    return f"echo '{limit.key} = {value}' > /etc/sysctl.d/60-deploy-wizard-{limit.name}.conf"


def ensure_inotify(running: int, progress: Progress) -> None:
    """Make room for one more sandbox beside `running` ones; prints one line per limit it raised (or could not)."""
    for limit in LIMITS:
        try:
            current = _read(limit)
        except (OSError, ValueError, IndexError):
            continue  # no inotify sysctls to read (not Linux's procfs): nothing to judge, the boot will tell
        if current >= limit.needed(running + 1):
            continue
        wanted = limit.needed(max(MAX_SANDBOXES, running + 1))  # above `current`: only ever raised
        try:
            (SYSCTL_DIR / limit.name).write_text(f"{wanted}\n")
        except OSError as exc:
            progress(_("Warning: {key} is {current}, and {count} sandboxes may need {needed} (each booted systemd "
                       "takes several inotify instances); it could not be raised ({why}). If the sandbox does not "
                       "boot, run as root: sysctl -w {key}={wanted}").format(
                key=limit.key, current=current, count=running + 1, needed=limit.needed(running + 1),
                why=exc.strerror or exc, wanted=wanted))
            continue
        progress(_("Raised {key} from {current} to {wanted}, room for {count} sandboxes at once: every sandbox's "
                   "systemd takes inotify instances and watches, all sandboxes share this machine's limit, and at "
                   "the default of 128 instances about the 20th sandbox does not boot. This lasts until this machine "
                   "reboots; to keep it: {persist}").format(
            key=limit.key, current=current, wanted=wanted, count=MAX_SANDBOXES, persist=_persist_hint(limit, wanted)))


SYMPTOMS = ("Too many open files", "inotify")


def explain_boot_failure(console_text: str) -> str:
    """A sentence for a boot that failed on the inotify limit (its console says so), else empty."""
    if not any(symptom in console_text for symptom in SYMPTOMS):
        return ""
    limit = LIMITS[0]
    try:
        current = _read(limit)
    except (OSError, ValueError, IndexError):
        current = 0
    return _("The console shows the guest's systemd ran out of inotify instances ({key} is {current}; all sandboxes "
             "share it). Take sandboxes down, or raise it as root: sysctl -w {key}={wanted}").format(
        key=limit.key, current=current or "?", wanted=max(limit.needed(MAX_SANDBOXES), current * 2))


__all__ = ["LIMITS", "Limit", "ensure_inotify", "explain_boot_failure"]
