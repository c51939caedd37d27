"""What must hold for the monitoring step, however it was reached (wizard.engine.meaning).

Why these: an exporter started by hand (its /etc/default file with other words, a unit of one's own) does the job
when its metrics answer on the address Prometheus scrapes, with its "up" line (the same line the step's verify
check waits for); the journal is bounded when journald keeps it on disk with a SystemMaxUse from any of its
configuration files. The files this step would write for them then differ from the recommended setup only.
"""

from __future__ import annotations

from recipes.monitoring.exporters import Exporter
from recipes.shared.claims import CLAIMS
from recipes.shared.meanings import Probe, timer_not_enabled
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


# every filesystem on a disk (the alert rule DiskAlmostFull leaves out the same memory and image filesystems) more
# than 90 % full, as "MOUNTPOINT USE%" lines. Exit 1 when there is one.
DISKS = r'''
full=$(df -P -x tmpfs -x devtmpfs -x ramfs -x squashfs -x overlay 2>/dev/null |
  awk 'NR > 1 && $5 + 0 > 90 {print $6 " " $5}')
[ -z "$full" ] || { printf '%s\n' "$full"; exit 1; }
'''


def disk_meaning() -> Meaning:
    """No disk more than 90 % full: what the DiskAlmostFull alert watches, and what bounded logs are for."""
    probe = Probe(DISKS)

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        full = ", ".join(answer.output.splitlines())
        return _("more than 90 % full: {disks} (`df -h`, then `sudo du -xsh DIR/*` finds what fills it)").format(
            disks=full or "?")

    return Meaning(_("no disk is more than 90 % full"), (probe,), test)


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


# $1 the app's log directory. logrotate's own dry run over its whole configuration (any file in
# /etc/logrotate.d, or logrotate.conf itself) names each log a rule takes: every *.log there must be one (before
# the first log exists, a rule's pattern must name the directory). Exit 1 with the first one no rule takes.
ROTATED = r'''
out=$(logrotate -d /etc/logrotate.conf 2>&1)
found=0
for f in "$1"/*.log; do
  [ -e "$f" ] || continue
  found=1
  printf '%s\n' "$out" | grep -qF "considering log $f" || { echo "$f"; exit 1; }
done
[ "$found" = 1 ] || printf '%s\n' "$out" | grep -qF "rotating pattern: $1/" || { echo "$1"; exit 1; }
'''

# $1 the health URL. A started, enabled timer whose service asks it (curl, wget, a script of one's own naming the
# URL). Exit 0 with the timer; 1: none; 3 (the timer) when it is not enabled.
HEALTH = r'''
for t in $(systemctl list-units --type=timer --state=active --plain --no-legend | cut -d' ' -f1); do
  s=$(systemctl show -P Unit "$t") || continue
  case "$(systemctl show -P ExecStart "$s")" in *"$1"*) ;; *) continue;; esac
  [ "$(systemctl is-enabled "$t" 2>/dev/null)" = enabled ] || { echo "$t"; exit 3; }
  echo "$t"; exit 0
done
exit 1
'''

# $1 Prometheus's address, then the jobs it must scrape. Its targets API: each job missing or not up, one a line
# ("JOB missing" / "JOB down: last error"). Exit 1: Prometheus does not answer (curl's last line).
SCRAPED = r'''
addr=$1; shift
out=$(curl -fsS -m 5 "http://$addr/api/v1/targets" 2>&1) || { printf '%s\n' "$out" | tail -n 1; exit 1; }
printf '%s' "$out" | python3 -I -c '
import json, sys
active = json.load(sys.stdin)["data"]["activeTargets"]
for job in sys.argv[1:]:
    mine = [t for t in active if t["labels"].get("job") == job]
    if not mine:
        print(job, "missing")
    elif not any(t["health"] == "up" for t in mine):
        print(job, "down:", mine[0].get("lastError") or "?")
' "$@"
'''


def _said(change: object) -> str:
    return str(getattr(change, "describe", lambda: "")())


def rotated_meaning(directory: str) -> Meaning:
    """A logrotate rule takes each of the app's log files in `directory`."""
    probe = Probe(ROTATED, (directory,))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        return _("no logrotate rule takes {path}: `logrotate -d /etc/logrotate.conf` does not consider it, and "
                 "the app's logs grow until the disk is full").format(path=answer.output or directory)

    return Meaning(_("logrotate rotates the app's logs in {path}").format(path=directory), (probe,), test,
                   covers=lambda change: "/etc/logrotate.d/" in _said(change))


def health_meaning(url: str, unit: str) -> Meaning:
    """A timer checks the site's health URL (units of any name; the recommended one is `unit`)."""
    probe = Probe(HEALTH, (url,))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 3:
            return timer_not_enabled(answer.output)
        return _("no started timer asks {url}: an outage would go unnoticed").format(url=url)

    return Meaning(_("a timer checks {url}").format(url=url), (probe,), test,
                   covers=lambda change: unit in _said(change) or _said(change) == "systemctl daemon-reload")


def scraped_meaning(listen: str, jobs: tuple[str, ...]) -> Meaning:
    """Prometheus answers at `listen` and scrapes each exporter's job, every one up."""
    probe = Probe(SCRAPED, (listen, *jobs))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if not answer.ok:
            return _("Prometheus does not answer at {addr} ({error})").format(addr=listen, error=answer.output or "?")
        if answer.output:
            return _("Prometheus does not scrape every exporter: {which}").format(
                which="; ".join(answer.output.splitlines()))
        return None

    def covers(change: object) -> bool:  # its configuration and restarts; the package install stays its own item
        said = _said(change)
        return "prometheus" in said and "apt-get" not in said

    return Meaning(_("Prometheus at {addr} scrapes {jobs}, each one up").format(addr=listen, jobs=", ".join(jobs)),
                   (probe,), test, covers=covers)


__all__ = [
    "disk_meaning", "exporter_meaning", "health_meaning", "journal_meaning", "rotated_meaning", "scraped_meaning",
]
