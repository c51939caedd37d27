"""Host facts of goals: the server's size as the app will meet it (parse cases: tests/test_goals.py).

Why cgroups too: a container or a systemd slice with `MemoryMax=` or `CPUQuota=` sees the host's RAM in
/proc/meminfo and the host's CPUs in `nproc` (unless a cpuset narrows them), but the kernel kills or throttles
the app at the cgroup's limit. Sizing gunicorn from /proc alone would plan workers the server cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact

# One round trip: nproc, MemTotal and SwapTotal (KiB), the cgroup v2 limits of our own cgroup (cgroup v1's
# files where v2 is absent), free space on / (MiB) and what systemd says we run in.
_SCRIPT = r"""
echo "nproc $(nproc)"
awk '/^MemTotal:/ {print "mem_kib", $2} /^SwapTotal:/ {print "swap_kib", $2}' /proc/meminfo
cg=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup 2>/dev/null)
for d in "/sys/fs/cgroup$cg" /sys/fs/cgroup; do
  if [ -r "$d/memory.max" ]; then
    echo "cg_mem $(cat "$d/memory.max")"; echo "cg_cpu $(cat "$d/cpu.max" 2>/dev/null)"; break
  fi
done
v1=/sys/fs/cgroup
[ -r $v1/memory/memory.limit_in_bytes ] && echo "cg_mem $(cat $v1/memory/memory.limit_in_bytes)"
[ -r $v1/cpu/cpu.cfs_quota_us ] && echo "cg_cpu $(cat $v1/cpu/cpu.cfs_quota_us) $(cat $v1/cpu/cpu.cfs_period_us)"
echo "disk_mib $(df -Pm / | awk 'NR == 2 {print $4}')"
echo "virt $(systemd-detect-virt 2>/dev/null || echo none)"
"""


@dataclass(frozen=True)
class Size:
    """What the app can use: CPUs and memory after cgroup limits, free disk, swap, and the kind of machine."""

    cpus: int
    mem_mib: int
    disk_mib: int
    swap_mib: int = 0
    virt: str = "none"  # systemd-detect-virt: none, kvm, systemd-nspawn, docker, lxc...
    cgroup_limited: bool = False  # the cgroup's limit is below what /proc shows

    @property
    def container(self) -> bool:
        """A container shares the host's kernel: swap and vm.* sysctls are the host's to decide."""
        return self.virt in {"systemd-nspawn", "docker", "podman", "lxc", "lxc-libvirt", "openvz", "wsl",
                             "container-other"}


class ServerSize(Fact):
    kind = "server-size"

    def command(self) -> Command:
        return sh(_SCRIPT, display="nproc; grep -E 'MemTotal|SwapTotal' /proc/meminfo; cat /sys/fs/cgroup/memory.max "
                                   "/sys/fs/cgroup/cpu.max; df -Pm /; systemd-detect-virt")

    def fresh(self) -> Size:
        return Size(cpus=2, mem_mib=2048, disk_mib=20480)

    def parse(self, out: str, status: int) -> Size:
        return parse_size(out)


def _cgroup_cpus(text: str) -> int | None:
    """`200000 100000` (quota, period) -> 2; `max 100000` -> None (no quota)."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit() or int(parts[1]) == 0:
        return None
    return max(1, -(-int(parts[0]) // int(parts[1])))


def parse_size(out: str) -> Size:
    """The size from the script's `key value` lines; a cgroup limit below what /proc shows wins."""
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _sep, value = line.strip().partition(" ")
        values.setdefault(key, value.strip())
    cpus = int(values.get("nproc") or 1)
    mem = int(values.get("mem_kib") or 0) // 1024
    limited = False
    cg_mem = values.get("cg_mem", "")
    if cg_mem.isdigit() and 0 < int(cg_mem) // 2**20 < mem:
        mem, limited = int(cg_mem) // 2**20, True
    cg_cpus = _cgroup_cpus(values.get("cg_cpu", ""))
    if cg_cpus is not None and cg_cpus < cpus:
        cpus, limited = cg_cpus, True
    disk = values.get("disk_mib", "")
    return Size(cpus=cpus, mem_mib=mem, disk_mib=int(disk) if disk.isdigit() else 0,
                swap_mib=int(values.get("swap_kib") or 0) // 1024, virt=values.get("virt") or "none",
                cgroup_limited=limited)
