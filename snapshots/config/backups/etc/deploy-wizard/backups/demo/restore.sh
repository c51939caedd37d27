#!/bin/sh
# Managed by deploy-wizard (step backups). Edit the recipe, not this file.
# `deploy-wizard restore` runs this in three parts: `stop` (the app, its workers, jobs and backup timers; the
# units it stopped are remembered), `data SET` (the database, then the media), `start` (what `stop` stopped).
# Migrations run between `data` and `start`, the way a deploy runs them. Usage: restore.sh stop|data SET|start
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
say() { printf 'restore: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }
stopped="$DIR/.restore-stopped"
case "${1:-}" in
stop)
  systemctl list-units --all --state=active --plain --no-legend "$APP.socket" "$APP@*.service" "$APP-worker-*" \
    "$APP-worker@*" "$APP-job-*.timer" "$APP-job-*.service" "$APP-backup.timer" "$APP-drill.timer" "$APP-health.timer" |
    awk '{print $1}' > "$stopped.new" && mv -f "$stopped.new" "$stopped" || exit 1
  [ -s "$stopped" ] && say "stopping: $(tr '\n' ' ' < "$stopped")"
  [ -s "$stopped" ] && xargs systemctl stop < "$stopped"
  exit 0 ;;
start)
  [ -s "$stopped" ] || { say "nothing to start again"; exit 0; }
  say "starting again: $(tr '\n' ' ' < "$stopped")"
  # the socket first: the app's service needs it
  grep -xF "$APP.socket" "$stopped" | xargs -r systemctl start
  xargs systemctl start < "$stopped" && rm -f "$stopped" ;;
data)
  set=${2:-}
  case "$set" in ''|*/*|.*) fail "not a backup set name: $set" ;; esac
  where="$DIR/$set"; [ -d "$where" ] || fail "no backup set $set in $DIR"
  if [ "$ENGINE" = postgresql ]; then
    owner=$(sed -n 's/^owner=//p' "$where/meta")
    exists=$(printf '%s\n' "select 1 from pg_database where datname = :'d';" | runuser -u postgres -- psql -X -q -tA -v d="$DB")
    if [ -z "$exists" ]; then
      say "the database $DB does not exist: creating it, owned by ${owner:-postgres}"
      runuser -u postgres -- createdb ${owner:+--owner="$owner"} -- "$DB" || fail "createdb $DB failed"
    fi
    say "restoring $DB from $set (in one transaction: on an error, nothing changes)"
    runuser -u postgres -- pg_restore --clean --if-exists --single-transaction --exit-on-error -d "$DB" \
      < "$where/db.pgdump" || fail "pg_restore of $set into $DB failed; the database is as it was"
  elif [ "$ENGINE" = mariadb ]; then
    say "restoring $DB from $set"
    mariadb -e "CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4" || fail "CREATE DATABASE $DB failed"
    zcat "$where/db.sql.gz" | mariadb -- "$DB" || fail "the restore of $set into $DB failed"
  fi
  if [ -n "$MEDIA" ] && [ -e "$where/media.tar.gz" ]; then
    say "restoring the uploads into $MEDIA"
    umask 022  # uploads are nginx's to read, as the app wrote them
    new="$MEDIA.restoring"; old="$MEDIA.before-restore"
    for d in "$new" "$old"; do
      if [ -e "$d" ] || [ -L "$d" ]; then runuser -u "$APP_USER" -- find "$d" -mindepth 1 -delete; rm -rf -- "$d"; fi
    done
    install -d -m 0755 -o "$APP_USER" -g "$APP_USER" "$new" || fail "could not create $new"
    # unpacked by the app user into its own new directory: root never writes through the app's paths
    runuser -u "$APP_USER" -- tar -C "$new" -xzf - --no-same-owner < "$where/media.tar.gz" || fail "unpacking the uploads failed"
    if [ -e "$MEDIA" ]; then mv -T -- "$MEDIA" "$old" || fail "could not move $MEDIA aside"; fi
    mv -T -- "$new" "$MEDIA" || fail "could not put the uploads in place"
    if [ -e "$old" ]; then runuser -u "$APP_USER" -- find "$old" -mindepth 1 -delete; rm -rf -- "$old"; fi
  fi
  say "restored $set" ;;
*) echo "usage: restore.sh stop|data SET|start" >&2; exit 2 ;;
esac
