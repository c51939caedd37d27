#!/bin/sh
# Managed by deploy-wizard (step backups). Edit the recipe, not this file.
# Takes one backup set of demo: the database dump, the media snapshot and the row counts read from the
# dump itself, in a temporary directory that becomes a backup only once it is complete and verified.
# Usage: backup.sh [scheduled|manual|premigrate-RELEASE]   (as root; the timer runs `scheduled`)
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
kind=${1:-manual}
say() { printf 'backup: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; rm -rf -- "$tmp"; exit 1; }
case "$kind" in scheduled|manual|premigrate-*) ;; *) say "unknown kind: $kind" >&2; exit 2 ;; esac
install -d -m 0700 -o root -g root "$DIR" || exit 1
for old in "$DIR"/.partial-*; do [ -e "$old" ] && rm -rf -- "$old" && say "removed an unfinished set: $old"; done
name="$(date -u +%Y%m%dT%H%M%SZ)-$kind"
tmp="$DIR/.partial-$name"
mkdir -m 0700 "$tmp" || exit 1
pg() { printf '%s\n' "$1" | runuser -u postgres -- psql -X -q -tA -v d="$DB"; }
# what it will take, against what is free (KiB)
need=0; tables=1; owner=""
if [ "$ENGINE" = postgresql ]; then
  need=$(pg "select pg_database_size(:'d') / 1024;") || fail "PostgreSQL does not answer, or there is no database $DB"
  tables=$(printf '%s\n' "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema');" |
    runuser -u postgres -- psql -X -q -tA -d "$DB")
elif [ "$ENGINE" = mariadb ]; then
  need=$(mariadb -N -B -e "select coalesce(sum(data_length + index_length), 0) div 1024, count(*) from information_schema.tables where table_schema = '$DB'") ||
    fail "MariaDB does not answer"
  tables=${need#*	}; need=${need%%	*}
fi
if [ "$tables" = 0 ] && [ "${kind#premigrate-}" != "$kind" ]; then
  rm -rf -- "$tmp"; say "the database has no tables yet: nothing to keep before its first migration"; exit 0
fi
if [ -n "$MEDIA" ] && [ -d "$MEDIA" ]; then
  need=$((need + $(runuser -u "$APP_USER" -- du -sk -- "$MEDIA" | cut -f1)))
fi
free=$(df -Pk "$DIR" | awk 'NR == 2 {print $4}')
if [ "$free" -lt $((need + RESERVE_MB * 1024)) ]; then
  fail "not enough free space in $DIR: about $((need / 1024)) MiB to write and backups.free_reserve_mb=$RESERVE_MB to keep free, $((free / 1024)) MiB free"
fi
# the database, then its row counts read back from the dump: a dump that cannot be read to its end is no backup
if [ "$ENGINE" = postgresql ]; then
  owner=$(pg "select pg_get_userbyid(datdba) from pg_database where datname = :'d';")
  runuser -u postgres -- pg_dump -Fc -d "$DB" > "$tmp/db.pgdump" || fail "pg_dump of $DB failed"
  pg_restore -f - --data-only "$tmp/db.pgdump" | awk '
    /^COPY .* FROM stdin;$/ { s = substr($0, 6); i = index(s, " ("); if (!i) i = index(s, " FROM stdin;");
                              table = substr(s, 1, i - 1); rows = 0; inside = 1; next }
    inside && $0 == "\\." { print table "\t" rows; inside = 0; next }
    inside { rows++ }' > "$tmp/counts" || fail "the dump cannot be read back (pg_restore)"
  [ "$(pg_restore -l "$tmp/db.pgdump" 2>/dev/null | grep -c 'TABLE DATA')" = "$(wc -l < "$tmp/counts")" ] ||
    fail "the dump cannot be read back to its end"
elif [ "$ENGINE" = mariadb ]; then
  { mariadb-dump --single-transaction --skip-extended-insert --routines --triggers -- "$DB"; echo $? > "$tmp/rc"; } |
    gzip -6 > "$tmp/db.sql.gz" || fail "gzip failed"
  [ "$(cat "$tmp/rc")" = 0 ] || fail "mariadb-dump of $DB failed"; rm -f "$tmp/rc"
  gzip -t "$tmp/db.sql.gz" && [ "$(zcat "$tmp/db.sql.gz" | tail -n 1 | cut -c1-17)" = "-- Dump completed" ] ||
    fail "the dump is incomplete"
  zcat "$tmp/db.sql.gz" | awk -F'`' '/^CREATE TABLE `/ { if (!($2 in n)) n[$2] = 0 } /^INSERT INTO `/ { n[$2]++ }
    END { for (t in n) print t "\t" n[t] }' | sort > "$tmp/counts"
fi
# the uploads, read as the app user (root never walks a tree the app user controls)
if [ -n "$MEDIA" ] && [ -d "$MEDIA" ]; then
  runuser -u "$APP_USER" -- tar -C "$MEDIA" -czf - . > "$tmp/media.tar.gz" || fail "the media snapshot failed"
  tar -tzf "$tmp/media.tar.gz" > /dev/null || fail "the media snapshot cannot be read back"
fi
release=$(readlink "$CURRENT"); release=${release##*/}
case "$kind" in premigrate-*) release=${kind#premigrate-} ;; esac
printf 'kind=%s\nrelease=%s\nengine=%s\nowner=%s\n' "$kind" "$release" "$ENGINE" "$owner" > "$tmp/meta"
chmod 0600 "$tmp"/* && mv -T -- "$tmp" "$DIR/$name" || fail "could not keep $name"
say "kept $DIR/$name ($(du -sh "$DIR/$name" | cut -f1), $(awk -F'\t' '{n += $2} END {print n + 0}' "$DIR/$name/counts") rows)"
# rotation: every set of the newest KEEP_DAILY days, and the newest set of each of the newest KEEP_WEEKLY weeks
days=""; weeks=""; nd=0; nw=0
for set in $(ls -1 "$DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z-[a-z0-9_.-]+$' | sort -r); do
  day=${set%%T*}; week=$(date -u -d "$day" +%G%V); keep=""
  case " $days " in *" $day "*) keep=1 ;; *) [ "$nd" -lt "$KEEP_DAILY" ] && { days="$days $day"; nd=$((nd + 1)); keep=1; } ;; esac
  case " $weeks " in *" $week "*) ;; *) [ "$nw" -lt "$KEEP_WEEKLY" ] && { weeks="$weeks $week"; nw=$((nw + 1)); keep=1; } ;; esac
  [ -n "$keep" ] || { rm -rf -- "${DIR:?}/$set"; say "rotated out $set"; }
done
exit 0
