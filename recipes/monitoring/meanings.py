"""What must hold for the monitoring step, however it was reached (wizard.engine.meaning).

Why these: an exporter started by hand (its /etc/default file with other words, a unit of one's own) does the job
when its metrics answer on the address Prometheus scrapes, with its "up" line (the same line the step's verify
check waits for); the journal is bounded when journald keeps it on disk with a SystemMaxUse from any of its
configuration files. The files this step would write for them then differ from the recommended setup only.
"""

from __future__ import annotations

from recipes.monitoring.exporters import Exporter
from recipes.shared.claims import CLAIMS
from recipes.shared.meanings import Probe
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning

_ = translator(__file__)

# $1 the metrics URL, $2 the "up" line's expression. Exit 1: no answer (curl's last line); 2: no such line.
METRICS = r'''
out=$(curl -fsS -m 5 "$1" 2>&1) || { printf '%s\n' "$out" | tail -n 1; exit 1; }
printf '%s\n' "$out" | grep -qE "$2" || exit 2
'''

# journald's own merge of its configuration files: the SystemMaxUse in force, and whether it keeps the journal on
# disk (/var/log/journal). Exit 1: no SystemMaxUse; 2: no /var/log/journal.
JOURNAL = r'''
use=$(systemd-analyze cat-config systemd/journald.conf 2>/dev/null | sed -n 's/^SystemMaxUse= *//p' | tail -n 1)
[ -n "$use" ] || exit 1
[ -d /var/log/journal ] || exit 2
echo "$use"
'''


def exporter_meaning(exporter: Exporter) -> Meaning:
    """The exporter's metrics answer at its address with its up line."""
    url = f"http://{exporter.address}/metrics"
    probe = Probe(METRICS, (url, exporter.up))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 2:
            return _("{url} answers without a line matching {up}").format(url=url, up=exporter.up)
        return _("nothing answers at {url} ({error}): is {unit} running and listening on {addr}?").format(
            url=url, error=answer.output or "?", unit=exporter.package, addr=exporter.listen)

    def covers(change: object) -> bool:  # its file and its restarts; the package install stays its own item
        said = str(getattr(change, "describe", lambda: "")())
        return exporter.package in said and "apt-get" not in said

    return Meaning(_("the {job} exporter answers with metrics at {url}").format(job=exporter.job, url=url),
                   (probe,), test, covers=covers)


def journal_meaning(dropin: str) -> Meaning:
    """journald keeps the journal on disk within a size limit (whichever file sets it)."""
    probe = Probe(JOURNAL)

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 2:
            return _("/var/log/journal does not exist: the journal is lost at every reboot")
        return _("no journald configuration sets SystemMaxUse: the journal may fill the disk")

    def covers(change: object) -> bool:  # with the claim that records the cap for the other apps on the server
        said = str(getattr(change, "describe", lambda: "")())
        return any(word in said for word in (dropin, "systemd-journald", "/var/log/journal", CLAIMS))

    return Meaning(_("the journal is kept on disk within a size limit"), (probe,), test, covers=covers)


__all__ = ["exporter_meaning", "journal_meaning"]
