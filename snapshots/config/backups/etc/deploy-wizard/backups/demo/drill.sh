#!/bin/sh
# Managed by deploy-wizard (step backups). Edit the recipe, not this file.
# The restore drill of demo: restores a backup set (default: the newest) into a scratch database, compares
# each table's rows with the counts read from the dump when it was taken, checks the media snapshot, and
# records the outcome and the backup's age in $DIR/drill.status, which `deploy-wizard check` reads.
# Usage: drill.sh [SET]   (as root)
set -u
umask 077
APP=demo
APP_USER=demo
ENGINE=postgresql
DB=demo
MEDIA=/srv/demo/shared/media
DIR=/var/backups/deploy-wizard-data/demo
CURRENT=/srv/demo/current
KEEP_DAILY=7
KEEP_WEEKLY=4
RESERVE_MB=1024
say() { printf 'drill: %s\n' "$*"; }
set=${1:-$(ls -1 "$DIR" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z-[a-z0-9_.-]+$' | sort | tail -n 1)}
SCRATCH="dwdrill_$(printf '%s' "$DB" | cut -c1-50)"
age=0
record() {  # $1 ok|failed, $2 why
  printf '%s %s %s %s %s\n' "$1" "${set:--}" "$age" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" > "$DIR/drill.status.new" &&
    mv -f "$DIR/drill.status.new" "$DIR/drill.status"
}
cleanup() {
  if [ "$ENGINE" = postgresql ]; then runuser -u postgres -- dropdb --if-exists -- "$SCRATCH" 2>/dev/null
  elif [ "$ENGINE" = mariadb ]; then mariadb -e "DROP DATABASE IF EXISTS \`$SCRATCH\`" 2>/dev/null; fi
  rm -f "$DIR/.drill-counts"
}
fail() { say "FAILED: $*" >&2; record failed "$*"; cleanup; exit 1; }
install -d -m 0700 -o root -g root "$DIR" || exit 1
[ -n "$set" ] || fail "there is no backup to restore"
case "$set" in */*|.*) fail "not a backup set name: $set" ;; esac
where="$DIR/$set"; [ -d "$where" ] || fail "no backup set $set in $DIR"
stamp=${set%%Z-*}
age=$(( $(date +%s) - $(date -u -d "$(echo "$stamp" | sed 's/^\(....\)\(..\)\(..\)T\(..\)\(..\)\(..\)$/\1-\2-\3 \4:\5:\6/')" +%s) ))
say "restoring $set (taken $((age / 3600)) h $((age % 3600 / 60)) min ago) into the scratch database $SCRATCH"
if [ "$ENGINE" != none ]; then
  [ -s "$where/counts" ] || fail "the set has no row counts: the database it came from had no tables"
  total=$(awk -F'\t' '{n += $2} END {print n + 0}' "$where/counts")
  [ "$total" -gt 0 ] || fail "the dump holds no rows: a dump of an empty database is no backup"
fi
cleanup
if [ "$ENGINE" = postgresql ]; then
  runuser -u postgres -- createdb -- "$SCRATCH" || fail "createdb $SCRATCH failed"
  runuser -u postgres -- pg_restore --no-owner --no-acl --exit-on-error -d "$SCRATCH" < "$where/db.pgdump" ||
    fail "pg_restore of $set failed: the dump is damaged or incomplete"
  # every table's rows, counted in the scratch copy (names quoted by PostgreSQL, as pg_dump quotes them)
  printf '%s\n' "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) || chr(9) ||
    (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname),
     false, true, '')))[1]::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') order by 1;" |
    runuser -u postgres -- psql -X -q -tA -d "$SCRATCH" > "$DIR/.drill-counts" || fail "counting the rows failed"
  sort -o "$DIR/.drill-counts" "$DIR/.drill-counts"
elif [ "$ENGINE" = mariadb ]; then
  mariadb -e "CREATE DATABASE \`$SCRATCH\`" || fail "CREATE DATABASE $SCRATCH failed"
  zcat "$where/db.sql.gz" | mariadb -- "$SCRATCH" || fail "the restore of $set failed: the dump is damaged or incomplete"
  mariadb -N -B -e "select table_name from information_schema.tables where table_schema = '$SCRATCH' and table_type = 'BASE TABLE'" |
    while IFS= read -r t; do
      q=$(printf '%s' "$t" | sed 's/`/``/g')
      printf '%s\t%s\n' "$t" "$(mariadb -N -B -e "select count(*) from \`$SCRATCH\`.\`$q\`")"
    done | sort > "$DIR/.drill-counts" || fail "counting the rows failed"
fi
if [ "$ENGINE" != none ]; then
  sort "$where/counts" | diff - "$DIR/.drill-counts" > /dev/null ||
    fail "the restored rows differ from the counts taken with the dump: $(sort "$where/counts" | diff - "$DIR/.drill-counts" | grep '^[<>]' | head -n 5 | tr '\n' ' ')"
fi
if [ -e "$where/media.tar.gz" ]; then
  files=$(tar -tzf "$where/media.tar.gz" | wc -l) || fail "the media snapshot cannot be read"
  say "media snapshot: $files entries"
fi
cleanup
say "passed: $set restores, ${total:-0} rows in all match the counts taken with the dump"
record ok "$set restores, ${total:-0} rows match"
