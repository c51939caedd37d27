"""Least privilege for every process that runs the app's code (the tutorial's 4.3, "权限管理"): one systemd
sandbox, written once here and used by each unit that runs it (a release's gunicorn, the gate's candidate, the
health check; workers and jobs later).

Why a sandbox and not only a user of its own: the app user can already not write where it has no permission,
but it can still read most of the system, write its own code and venv (it owns them, to deploy), open any kind
of socket, and call every system call the kernel has. A bug that lets a visitor run code (a template injection,
an unsafe pickle) gets all of that. Here the process sees the file system read-only, except the directories the
app really writes at run time (its uploads, its logs); its code cannot be changed behind the deploy's back; /home,
the kernel's tunables, modules, logs and clock are out of reach; it may open only local and Internet sockets and
call only the system calls an ordinary service needs; and no setuid program or capability can give it more.

What is left out on purpose, because it breaks ordinary Python apps: MemoryDenyWriteExecute (cffi and ctypes
callbacks need writable code pages), RemoveIPC (two releases of one user overlap during a switch: stopping the
old one would remove the new one's semaphores), UMask (uploads must stay readable by nginx), PrivateUsers, and a
system-call filter narrower than @system-service (gunicorn chowns its worker files to itself).

`systemd-analyze security UNIT` scores what is left: 0 is a process that can do nothing, 10 one that can do
anything. The app's units must stay at EXPOSURE_TARGET or below; the plan shows each unit's level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wizard.engine.i18n import translator
from wizard.engine.step import Ok, Warn

_ = translator(__file__)

EXPOSURE_TARGET = 2.5  # the sandbox below scores 1.5 with systemd 252; the old unit (ProtectSystem=full) scored 8+

# Directive, value. Order is the order in the unit file; a value with spaces is one systemd value.
_BASE: tuple[tuple[str, str], ...] = (
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("PrivateMounts", "yes"),
    ("ProtectHome", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("ProtectProc", "invisible"),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallErrorNumber", "EPERM"),
    ("CapabilityBoundingSet", ""),
)


def directives(writable: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The sandbox as (directive, value) pairs. `writable`: the only directories the process may write besides
    its own private /tmp and what systemd creates for it (LogsDirectory=, RuntimeDirectory=). Each is optional
    (`-`): a directory that does not exist yet must not keep the app from starting."""
    paths = " ".join(f"-{path}" for path in writable)
    pairs = list(_BASE)
    if paths:
        pairs.insert(2, ("ReadWritePaths", paths))
    return pairs


def unit_lines(writable: Iterable[str] = ()) -> str:
    """The sandbox as lines of a unit's [Service] section (templates insert it with `{{ sandbox }}`)."""
    return "\n".join(f"{name}={value}" for name, value in directives(writable))


def run_properties(writable: Iterable[str] = ()) -> list[str]:
    """The same sandbox as `systemd-run` arguments (-p NAME=VALUE ...), for a transient unit."""
    args: list[str] = []
    for name, value in directives(writable):
        args += ["-p", f"{name}={value}"]
    return args


def exposure_note(unit: str, exposure: Mapping[str, object] | None, *, rewriting: bool) -> Ok | Warn | None:
    """What the plan says of a unit's exposure (recipes.shared.facts.UnitExposure): the level and the target, a
    warning when it is above the target, nothing when systemd cannot score it. `rewriting`: this plan writes the
    unit anew, so the level read now is the old unit's; the next plan reads the new one."""
    if exposure is None:
        return None
    level, label = float(str(exposure["level"])), str(exposure["label"])
    values = {"unit": unit, "level": f"{level:.1f}", "label": label, "target": f"{EXPOSURE_TARGET:.1f}"}
    if rewriting:
        return Ok(_("{unit}: exposure {level} {label} before this change (target {target} or less; "
                    "`systemd-analyze security {unit}` lists each setting)").format(**values))
    if level <= EXPOSURE_TARGET:
        return Ok(_("{unit}: exposure {level} {label} (target {target} or less; `systemd-analyze security {unit}` "
                    "lists each setting)").format(**values))
    return Warn(_("{unit}: exposure {level} {label}, above the target {target}").format(**values),
                _("`systemd-analyze security {unit}` lists what raises it: a drop-in of your own in "
                  "/etc/systemd/system/{unit}.d/ that loosens the sandbox, or an older systemd").format(**values))
