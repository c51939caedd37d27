"""What must hold for the backups step, however it was reached (wizard.engine.meaning).

Why these two: a learner who sets up the dump by hand (a script of their own in /usr/local/bin, a timer and a
service of other names, a plain `pg_dump > demo.sql`) did the job when an enabled, started timer runs a dump
of the database and its last run did not fail, and when the newest dump reads back to its end with the tables'
data in it. That is what this step's own scripts check before they keep a backup, and what its restore drill
proves later; the script and unit files this step would write, their names and texts, are then a difference
from the recommended setup. Not bytes: any unit names, any script, custom or plain format, gzip or not.

Where the dump is looked for: under /var/backups, the place Debian (and the FHS) gives backups, where this step
keeps its own sets too; the reason says so when none is found there. The off-server copy has no meaning here:
its changes stay missing until it is set up the step's way.
"""

from __future__ import annotations

from recipes.shared.meanings import Probe, timer_not_enabled
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning, covering

_ = translator(__file__)

BACKUP_ROOT = "/var/backups"
DUMPERS = "pg_dump|mariadb-dump|mysqldump"

# $1 the dump tools (an ERE). Every started timer whose service runs a dump tool, on its command line or in a
# script file its command line names. Exit 0 (the timer) when one is enabled and its last run did not fail; else
# the first problem seen: 3 (the timer) started but not enabled, 4 (timer, service, result) its last run failed;
# 1 when no started timer runs a dump.
TIMER = r'''
bad=""; code=1
for t in $(systemctl list-units --type=timer --state=active --plain --no-legend | cut -d' ' -f1); do
  s=$(systemctl show -P Unit "$t") || continue
  argv=$(systemctl show -P ExecStart "$s" | sed -n 's/.*argv\[\]=\([^;]*\);.*/\1/p')
  hit=""
  printf '%s\n' "$argv" | grep -qE "$1" && hit=1
  if [ -z "$hit" ]; then
    for w in $argv; do [ -f "$w" ] && grep -qIE "$1" "$w" 2>/dev/null && { hit=1; break; }; done
  fi
  [ -n "$hit" ] || continue
  if [ "$(systemctl is-enabled "$t" 2>/dev/null)" != enabled ]; then
    [ -n "$bad" ] || { bad="$t"; code=3; }; continue
  fi
  r=$(systemctl show -P Result "$s")
  if [ "$r" != success ]; then
    [ -n "$bad" ] || { bad="$t $s $r"; code=4; }; continue
  fi
  echo "$t"; exit 0
done
[ -z "$bad" ] || echo "$bad"
exit $code
'''

# $1 where dumps are kept. The newest dump file there (a set being written, .partial-*, left out), read to its
# end: a custom-format dump by pg_restore (the whole archive, into nothing), a plain or gzipped SQL dump by its
# closing line. Prints "FILE TABLES AGE_SECONDS". Exit 1: no dump; 2 (file): it does not read back to its end;
# 3 (file): it holds no table's data (a dump of an empty database proves nothing).
# Why so careful: this runs as root and a less-privileged user may own a folder under $1. Names come NUL-separated
# (a newline in a name cannot split one), only a regular file that is not a link is read (checked again just
# before), root only opens it and hands it over: what parses it runs as nobody (runuser; as another user the
# probe has nothing to drop), and every read is under `timeout 60`, the open included, so a FIFO swapped in
# cannot hang the batch.
DUMP = r'''
cd / || exit 1
f=$(find "$1" -xdev -maxdepth 5 -type f \( -name '*.pgdump' -o -name '*.dump' -o -name '*.sql' \
  -o -name '*.sql.gz' -o -name '*.backup' \) -not -path '*/.partial-*' -printf '%T@ %p\0' 2>/dev/null |
  sort -zn | tail -zn 1 | cut -zd' ' -f2- | tr -d '\0')
[ -n "$f" ] || exit 1
[ -f "$f" ] && ! [ -L "$f" ] || exit 1
drop=""; [ "$(id -u)" != 0 ] || drop="runuser -u nobody --"
rd() { timeout 60 sh -c 'exec < "$1" || exit 125; shift; exec "$@"' sh "$f" $drop "$@"; }
age=$(( $(date +%s) - $(stat -c %Y -- "$f") ))
if command -v pg_restore >/dev/null && rd pg_restore -l >/dev/null 2>&1; then
  rd pg_restore -f /dev/null 2>/dev/null || { echo "$f"; exit 2; }
  n=$(rd pg_restore -l | grep -c ' TABLE DATA ')
else
  case "$f" in
    *.gz) rd gzip -t 2>/dev/null || { echo "$f"; exit 2; }; text() { rd zcat; } ;;
    *) text() { rd cat; } ;;
  esac
  text | tail -n 8 | grep -qE -- '-- (PostgreSQL database dump complete|Dump completed)' || { echo "$f"; exit 2; }
  n=$(text | grep -cE '^(COPY [^ ]+ .*FROM stdin;|INSERT INTO )')
fi
[ "$n" -gt 0 ] || { echo "$f"; exit 3; }
echo "$f $n $age"
'''


def timer_meaning(app: str, script_dir: str, data_dir: str) -> Meaning:
    """An enabled, started timer runs a dump (units and script of any name), and its last run did not fail."""
    probe = Probe(TIMER, (DUMPERS,))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 3:
            return timer_not_enabled(answer.output)
        if answer.status == 4:
            timer, service, result = (answer.output.split() + ["?", "?", "?"])[:3]
            return _("the last run of {service} (started by {timer}) failed ({result}): `journalctl -u {service}` "
                     "says why").format(service=service, timer=timer, result=result)
        return _("no started timer runs pg_dump or mariadb-dump (`systemctl list-timers` lists the timers; a "
                 "script the service runs counts too)")

    return Meaning(_("a started, enabled timer dumps the database, and its last run did not fail"), (probe,), test,
                   covers=covering(script_dir, data_dir, f"{app}-backup", "daemon-reload"))


def dump_meaning(app: str) -> Meaning:
    """The newest dump under /var/backups reads back to its end and holds the tables' data."""
    probe = Probe(DUMP, (BACKUP_ROOT,))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 2:
            return _("the newest dump, {file}, does not read back to its end: it is damaged or was cut off; "
                     "take a new one").format(file=answer.output)
        if answer.status == 3:
            return _("the newest dump, {file}, holds no table's data: was the database empty, or is it another "
                     "database?").format(file=answer.output)
        return _("no dump under {dir} yet: run the backup once (`systemctl start` its service) and keep the dumps "
                 "there").format(dir=BACKUP_ROOT)

    return Meaning(_("the newest dump under {dir} reads back to its end, with the tables' data").format(
        dir=BACKUP_ROOT), (probe,), test, covers=covering(f"{app}-drill"))


__all__ = ["BACKUP_ROOT", "dump_meaning", "timer_meaning"]
