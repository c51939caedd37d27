"""What must hold for the goals step, however it was reached (wizard.engine.meaning).

Why swap only: the goals change nothing else on the server themselves (their other values are the defaults of
the other steps, graded there). A learner who made /swap.img with dd, or has a swap partition, did the job when
the server has at least the swap the goals ask for, and every swap in use comes back after a reboot (/etc/fstab
names it, by path or by UUID). The /swapfile this step would make is then a difference from the recommended setup.
"""

from __future__ import annotations

from collections.abc import Callable

from recipes.goals.facts import Size
from recipes.shared.claims import CLAIMS
from recipes.shared.meanings import Probe
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning

_ = translator(__file__)

# Each swap in use that /etc/fstab does not name (by its path, or its UUID): exit 1 with the first one.
SWAP_KEPT = r'''
swapon --show=NAME --noheadings | while read -r n; do
  u=$(blkid -s UUID -o value "$n" 2>/dev/null)
  grep -v '^[[:space:]]*#' /etc/fstab | grep -qE "^[[:space:]]*($n|UUID=${u:-none})[[:space:]]" ||
    { echo "$n"; exit 1; }
done
'''


def swap_meaning(wanted: Callable[[FactValues], tuple[int, Size]], asked: tuple[Fact, ...]) -> Meaning:
    """At least the swap the goals ask for (`wanted` reads it and the server's size from the facts `asked`), and
    all of it in /etc/fstab; nothing holds to be done in a container, whose swap is the host's."""
    probe = Probe(SWAP_KEPT)

    def test(facts: FactValues) -> str | None:
        need, size = wanted(facts)
        if need == 0 or size.container:
            return None
        if size.swap_mib < need:
            return _("the server has {have} MiB of swap; the goals ask for {need} MiB").format(
                have=size.swap_mib, need=need)
        answer = facts[probe]
        if not answer.ok:
            return _("{path} is in use as swap but not in /etc/fstab: it is gone after a reboot").format(
                path=answer.output or "?")
        return None

    def covers(change: object) -> bool:  # the swap file, and the claim that records the goals for the next app
        said = str(getattr(change, "describe", lambda: "")())
        return "swap" in said or CLAIMS in said

    return Meaning(_("the server has the swap the goals ask for, and keeps it after a reboot"), (*asked, probe), test,
                   covers=covers)


__all__ = ["swap_meaning"]
