"""The switch: a release that passed its gate takes traffic without one request dropped, and leaves again on
its own when it turns unhealthy.

Why one gunicorn per release (`APP@<release>.service`) sharing one socket: systemd holds the listening socket
(APP.socket) and hands the same descriptor to every unit that names it (`Sockets=`). The new release starts
beside the live one on that descriptor; `--preload` makes systemd's "started" mean "the app is imported", so
by the time `systemctl start` returns, its workers can answer. Only then does the old release stop, and it
stops gracefully: requests it holds finish, and connections still queued on the socket are taken by the new
release's workers, because the queue belongs to the socket, not to a process. nginx never reloads.

A graceful reload (HUP) cannot do this: gunicorn stops the old workers as soon as the new ones are spawned,
not when they are ready, so an app that takes 15 s to import answers nothing for 15 s.

Why the socket names its service in a drop-in: a socket must name one unit to start when traffic arrives and
nothing runs (at boot, before the enabled release is up). That is the live release, so it changes with it.

Memory: two releases run at once for a moment. When the server has not that much memory available (the live
release's own use plus a quarter and 64 MiB), the old release stops first; requests wait in the socket's queue
while the new one boots, and the output says so.

Watch: after the switch, the live release is asked its health path every 2 s for `watch` seconds. A failure
switches back the same way (the old release starts beside the broken one, then the broken one stops), prints
the broken release's own log, and fails the step. The first release has nothing to return to: it is gated,
and not watched.
"""

from __future__ import annotations

from recipes.shared.common import link_leaves
from recipes.shared.facts import UnitProperties
from recipes.shared.health import PROBE, Probe
from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact
from wizard.engine.i18n import translator
from wizard.engine.step import Context, file_leaves

_ = translator(__file__)

# $1 app, $2 the release to serve, $3 the `current` link, $4 the socket's drop-in, $5 seconds to watch,
# $6 the failure marker, $7 the probe script, then the probe's socket, Host, path and scheme
SWITCH = r'''
app="$1"; new="$2"; current="$3"; dropin="$4"; watch="$5"; failed="$6"; probe="$7"; shift 7
old=$(readlink "$current"); old=${old##*/}
say() { printf 'deploy-wizard: %s\n' "$*"; }
unit() { printf '%s@%s.service' "$app" "$1"; }
others() {  # every running gunicorn of this app but release $1 (a layout before releases had units too)
  systemctl list-units --state=active --plain --no-legend "$app@*.service" "$app.service" 2>/dev/null |
    awk '{print $1}' | grep -vxF "$(unit "$1")"
}
point() {  # current and the socket's service name release $1
  ln -sfn "releases/$1" "$current.new" && mv -Tf "$current.new" "$current" || return 1
  mkdir -p "${dropin%/*}" && printf '[Socket]\nService=%s\n' "$(unit "$1")" > "$dropin.new" &&
    mv -f "$dropin.new" "$dropin" && systemctl daemon-reload
}
serve() {  # start release $1 beside whatever runs, then stop the rest: never a moment without a listener
  point "$1" && systemctl start "$(unit "$1")" || return 1
  systemctl enable --quiet "$(unit "$1")"
  for u in $(others "$1"); do systemctl stop "$u"; systemctl disable --quiet "$u" 2>/dev/null; done
  return 0
}
log() {
  say "the last lines of release $1's own log (journalctl -u $(unit "$1")):"
  journalctl -u "$(unit "$1")" -n 30 --no-pager -o cat 2>/dev/null | tail -n 30
}
back() {  # release $new failed: $old serves again
  [ -n "$old" ] && [ "$old" != "$new" ] || { systemctl stop "$(unit "$new")"; return 0; }
  say "switching back to release $old"
  if serve "$old"; then say "release $old serves again"; else say "release $old did not start either"; fi
  systemctl disable --quiet "$(unit "$new")" 2>/dev/null
}
fail() {  # $1 why
  printf '%s %s %s\n' "$new" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" > "$failed"
  log "$new"; back; exit 1
}
if [ -n "$old" ] && [ "$old" != "$new" ] && systemctl -q is-active "$(unit "$old")"; then
  used=$(systemctl show -P MemoryCurrent "$(unit "$old")"); case "$used" in ''|*[!0-9]*) used=0 ;; esac
  avail=$(awk '/^MemAvailable:/ {print $2 * 1024}' /proc/meminfo)
  if [ "$avail" -lt $((used + used / 4 + 67108864)) ]; then
    say "only $((avail / 1048576)) MiB of memory available, and release $old uses $((used / 1048576)) MiB:" \
        "too little to run both, so release $old stops first and requests wait in the socket's queue" \
        "until release $new has booted"
    systemctl stop "$(unit "$old")"
  fi
fi
if [ -n "$old" ] && [ "$old" != "$new" ]; then say "starting release $new beside release $old on the same socket"
else say "starting release $new on the app's socket (nothing else serves it yet)"; fi
serve "$new" || fail "did not start"
rm -f "$failed"
if [ -z "$old" ] || [ "$old" = "$new" ] || [ "$watch" -le 0 ]; then exit 0; fi
say "release $new is live; watching its health for $watch s (release $old is kept to go back to)"
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$watch" ]; do
  if ! out=$(sh -c "$probe" probe "$@" 5 2>&1); then
    printf '%s\n' "$out"; fail "unhealthy after $(($(date +%s) - start)) s"
  fi
  sleep 2
done
say "release $new stayed healthy for $watch s"
'''


def dropin_path(ctx: Context) -> str:
    return f"/etc/systemd/system/{ctx.app}.socket.d/live.conf"


def unit_name(ctx: Context, release: str) -> str:
    return f"{ctx.app}@{release}.service"


def dropin_text(ctx: Context, release: str) -> str:
    return f"[Socket]\nService={unit_name(ctx, release)}\n"


def switch_leaves(ctx: Context, release: str) -> tuple[tuple[Fact, object], ...]:
    """What a switch leaves, for the later passes of a dry run: current, the socket's drop-in, the unit running."""
    running = {"ActiveState": "active", "UnitFileState": "enabled", "NeedDaemonReload": "no", "LoadState": "loaded"}
    return (*link_leaves(ctx.current, release), *file_leaves(dropin_path(ctx), dropin_text(ctx, release).encode()),
            (UnitProperties(unit_name(ctx, release)), running))


def switch(ctx: Context, release: str, probe: Probe, watch: int, failed_marker: str, *,
           before: str | None) -> Command:
    """The command that makes `release` the one serving (see the module's docstring). `before`: the release
    serving until now, as the plan knows it; None on a first release (nothing to stop, nothing to go back to), so
    the command shown never names a release that does not exist. The `...` says it is abridged (the socket's
    drop-in, enable, the watch's loop): a runbook shows it as a comment, never as a line to paste."""
    watching = " && " + _("watch {path} for {seconds} s").format(path=probe.path, seconds=watch) if watch else ""
    stop = f" && systemctl stop {unit_name(ctx, before)}" if before and before != release else ""
    return sh(SWITCH, ctx.app, release, ctx.current, dropin_path(ctx), str(watch), failed_marker, PROBE,
              probe.socket, probe.host, probe.path, "https" if probe.https else "http",
              display=f"ln -sfn releases/{release} {ctx.current} && systemctl start {unit_name(ctx, release)}"
                      f"{stop} ...{watching}")
