"""Reload nginx and return only once its new configuration serves.

Why wait: `systemctl reload nginx` sends nginx a signal and returns. nginx then reads its configuration, starts new
workers and only then tells the old ones to stop taking requests. A request in that moment meets the old site (the
tls step's check saw "unrecognized name" right after an apply), and a reload nginx refuses at that point (a port
another program holds, a file it cannot read although `nginx -t` could) is told to no one: the old workers simply
go on. So the script notes nginx's workers before the reload and waits until each of them has exited or is shutting
down. An old worker closes its listening sockets as it starts to shut down, so from then on every new connection
meets the new configuration. Up to 10 s; then it fails, saying so.

Why a stamp: a reload that failed, or a run killed between writing a site and reloading, leaves files on disk
that nginx has not loaded, and the next run would find them as it wants them and reload nothing. So every reload
here that nginx took up touches LOADED, and `Unloaded` asks which of nginx's files are newer than that stamp, or
than nginx's own start when nginx started later (its pid file; the stamp is in /run, gone at every boot).

Why by /proc and not pgrep or the pid file: procps is not on every minimal server, and the pid file's path is a
setting of nginx.conf. Reading `comm` is a shell builtin, so the scan costs a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, noted, sh
from wizard.engine.facts import Fact
from wizard.engine.i18n import translator

_ = translator(__file__)

LOADED = "/run/deploy-wizard/nginx-loaded"
# nginx's files changed after it last loaded them (up to 3, as found): none while nginx is not running, since its
# start reads them all. Without -L: the sites-enabled links count by their own time, their files are found in
# sites-available, and nothing a less privileged account controls is followed.
UNLOADED = r"""
ref=/run/nginx.pid
[ -e "$ref" ] || exit 0
[ "$1" -nt "$ref" ] && ref=$1
find /etc/nginx -newer "$ref" \( -type f -o -type l \) 2>/dev/null | head -n 3
""".strip()

# $1 is the message for a reload nginx did not take up and $2 the stamp of one it took up; both are shifted away,
# so a caller's script sees its own values as $1, $2... A worker's title "nginx: worker process" becomes "nginx:
# worker process is shutting down" once it was told to go.
RELOAD_NGINX = r"""
refused=$1; loaded=$2; shift 2
nginx_workers() {
  for d in /proc/[0-9]*; do
    read -r c 2>/dev/null < "$d/comm" || continue
    [ "$c" = nginx ] || continue
    [ "$(tr -d '\0' 2>/dev/null < "$d/cmdline")" = "nginx: worker process" ] && echo "${d#/proc/}"
  done
  return 0
}
reload_nginx() {
  old=$(nginx_workers)
  systemctl reload-or-restart nginx || return
  i=0
  while [ $i -lt 100 ]; do
    left=
    for p in $old; do
      [ "$(tr -d '\0' 2>/dev/null < "/proc/$p/cmdline")" = "nginx: worker process" ] && left=$p
    done
    [ -z "$left" ] && { mkdir -p "${loaded%/*}" && touch "$loaded"; return; }
    sleep 0.1; i=$((i+1))
  done
  echo "$refused" >&2
  return 1
}
""".strip()


def reloading(script: str, *args: str, display: str) -> Command:
    """A script of ours that calls `reload_nginx` where it would call `systemctl reload nginx`."""
    refused = _("nginx still runs its old workers 10 s after the reload: it did not take up the new configuration "
                "(see journalctl -u nginx and /var/log/nginx/error.log)")
    return sh(f"{RELOAD_NGINX}\n{script}", refused, LOADED, *args,
              display=noted(display, _("then waits until the old nginx workers stop taking requests")))


def check_and_reload() -> Command:
    """`nginx -t`, then the reload that waits: after any change to nginx's configuration."""
    return reloading("nginx -t -q && reload_nginx", display="nginx -t && systemctl reload nginx")


@dataclass(frozen=True, eq=False)
class Unloaded(Fact):
    """nginx's files changed after nginx last loaded its configuration: up to three paths, none when all are
    loaded or nginx is not running."""

    kind = "nginx-unloaded"

    def command(self) -> Command:
        return sh(UNLOADED, LOADED)

    def fresh(self) -> tuple[str, ...]:
        return ()

    def parse(self, out: str, status: int) -> tuple[str, ...]:
        return tuple(out.splitlines())


def nothing_unloaded() -> Command:
    """For exports, which replay without facts: succeeds when nginx has loaded all its files."""
    return sh(f'[ -z "$({UNLOADED})" ]', LOADED)
