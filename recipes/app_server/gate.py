"""The release gate: a new release answers its health check beside the live one before it takes traffic.

Why: switching `current` and reloading gunicorn serves whatever the new commit does, a crash included. Here
the code step only stages the release (`next` -> releases/<id>); the app server starts it as a throwaway
candidate (its own unit and socket, the app's env files, the app user), asks the health path the way nginx
will (recipes/shared/health.py), and only on a 2xx hands it the live socket (switch.py). A candidate that
fails shows the status, the app's answer and its own log lines, and the live release keeps serving.

Why a candidate of its own before the switch: a release started on the live socket takes requests the moment
it is up, so a broken one would answer real users before anyone asked it. The candidate has no users.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from recipes.app_server.switch import switch, switch_leaves, unit_name
from recipes.shared import guards, sandbox
from recipes.shared.common import current_release, linked_release, next_link, pending_release
from recipes.shared.health import PROBE, Probe
from recipes.shared.web import site, writable_dirs
from wizard.engine.commands import Command, cmd, sh
from wizard.engine.facts import FactValues
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.step import Change, Context, Ok, RunCommand

_ = translator(__file__)
n_ = plural_translator(__file__)

# $1 unit, $2 user, $3 release dir, $4 venv, $5 runtime dir name, $6 worker class ('' = sync), $7 app module,
# $8 probe script, $9.. probe args (host, path, scheme, wait), HOME, then systemd-run's properties (-p NAME=VALUE:
# the env files and the same sandbox as the release's own unit, recipes/shared/sandbox.py)
CANDIDATE = r'''
unit="$1"; user="$2"; dir="$3"; venv="$4"; run="$5"; klass="$6"; module="$7"; probe="$8"
host="$9"; shift 9; path="$1"; scheme="$2"; wait="$3"; home="$4"; shift 4
systemctl stop "$unit" 2>/dev/null; systemctl reset-failed "$unit" 2>/dev/null
since=$(date '+%Y-%m-%d %H:%M:%S')
set -- --unit "$unit" --collect --quiet --uid "$user" --gid "$user" -p RuntimeDirectory="$run" \
  -p WorkingDirectory="$dir" -E HOME="$home" "$@" \
  "$venv/bin/gunicorn" --workers 1 ${klass:+--worker-class "$klass"} --chdir "$dir" \
  --bind "unix:/run/$run/gunicorn.sock" --error-logfile - "$module"
systemd-run "$@" || exit 1
sh -c "$probe" probe "/run/$run/gunicorn.sock" "$host" "$path" "$scheme" "$wait"; rc=$?
if [ "$rc" -ne 0 ]; then
  echo "--- the new release's own log (journalctl -u $unit):"
  journalctl -u "$unit" --since "$since" -n 40 --no-pager -o cat 2>/dev/null | tail -n 40
fi
systemctl stop "$unit" 2>/dev/null
exit "$rc"
'''


def probe_for(ctx: Context, socket: str, path: str, wait: int) -> Probe:
    """The question nginx will ask: the site's first name (localhost without a site), https behind TLS."""
    web = site(ctx)
    host = web[0].server_names(web[1])[0] if web else "localhost"
    return Probe(socket, host, path, https=ctx.settings("tls") is not None, wait=wait)


def candidate(ctx: Context, release: str, *, module: str, worker_class: str, path: str, wait: int,
              env_files: list[str]) -> Command:
    probe = probe_for(ctx, f"/run/{ctx.app}-candidate/gunicorn.sock", path, wait)
    properties = [word for path in env_files for word in ("-p", f"EnvironmentFile=-{path}")]
    # the release is tried in the sandbox it will serve in: an app that needs more fails here, not live
    properties += sandbox.run_properties(writable_dirs(ctx))
    sandboxed = _("<the app's sandbox>")
    return sh(CANDIDATE, f"{ctx.app}-candidate", ctx.user, f"{ctx.releases}/{release}", ctx.venv,
              f"{ctx.app}-candidate", worker_class, module, PROBE, probe.host, probe.path,
              "https" if probe.https else "http", str(wait), ctx.home, *properties,
              display=f"systemd-run --unit {ctx.app}-candidate -p {sandboxed} gunicorn --chdir "
                      f"{ctx.releases}/{release} ... "
                      f"&& {probe.command().summary()}")


def plan_gate(ctx: Context, facts: FactValues, *, module: str, worker_class: str, path: str, wait: int,
              env_files: list[str], watch: int) -> Iterator[Change | Ok]:
    """Try the staged release, then make it live (recipes/app_server/switch.py). Nothing here when no release
    waits behind the gate."""
    release = pending_release(facts, ctx)
    if release is None:
        if linked_release(facts, next_link(ctx)):  # a run cut off right after the switch: it is live already
            yield _drop_next(ctx)
        return
    gate, switch_to = gate_and_switch(ctx, release, current_release(facts, ctx), module=module,
                                      worker_class=worker_class, path=path, wait=wait, env_files=env_files, watch=watch)
    yield replace(gate, skip_if=guards.link_is(ctx.current, f"releases/{release}"))
    yield replace(switch_to, skip_if=serving(ctx, release), leaves=switch_leaves(ctx, release))
    yield _drop_next(ctx)


def gate_and_switch(ctx: Context, release: str, old: str | None, *, module: str, worker_class: str, path: str,
                    wait: int, env_files: list[str], watch: int) -> tuple[RunCommand, RunCommand]:
    """The two commands that take `release` live after `old` (None: nothing serves yet), each saying what it
    waits for: the gate (the release asked its health path on a socket of its own), then the switch and its
    watch (a first release has nothing to go back to, so it is not watched). A new release and a rollback
    alike."""
    why = (_("start release {id} beside the live one and ask it {path} the way nginx will (up to {wait} s)")
           if old else
           _("start release {id} on a socket of its own and ask it {path} the way nginx will (up to {wait} s), "
             "before it goes live"))
    gate = RunCommand(why.format(id=release, path=path, wait=wait),
                      candidate(ctx, release, module=module, worker_class=worker_class, path=path, wait=wait,
                                env_files=env_files),
                      timeout=wait + 120)
    if old and watch:
        what = n_("switch to release {id}: it starts beside release {old} on the same socket, then {old} stops; "
                  "its health is watched for {n} second, and a failure switches back",
                  "switch to release {id}: it starts beside release {old} on the same socket, then {old} stops; "
                  "its health is watched for {n} seconds, and a failure switches back", watch)
    elif old:
        what = _("switch to release {id}: it starts beside release {old} on the same socket, then {old} stops")
    else:
        what = _("serve release {id}: start it on the app's socket")
    switch_to = RunCommand(what.format(id=release, old=old, n=watch),
                           live_switch(ctx, release, path, watch if old else 0, before=old),
                           timeout=wait + watch + 180)
    return gate, switch_to


def _drop_next(ctx: Context) -> RunCommand:
    return RunCommand(_("the staged release is live: remove the next link"), cmd("rm", "-f", next_link(ctx)),
                      skip_if=guards.missing(next_link(ctx)))


def live_switch(ctx: Context, release: str, path: str, watch: int, *, before: str | None) -> Command:
    """The switch to `release` as every caller wants it: the live socket asked as nginx asks, the failure record
    in its one place (a new release, serving the live one from its own unit, a rollback). `before`: the release
    serving until now (None: nothing yet)."""
    return switch(ctx, release, probe_for(ctx, ctx.socket, path, 5), watch, failed_marker(ctx), before=before)


def failed_marker(ctx: Context) -> str:
    """Where the switch records a release that failed (release, time, why) for `check` to show. In the
    root-owned app directory: root writes it, so never in shared/state, where the app user could plant a link."""
    return f"{ctx.base}/failed-release"


def serving(ctx: Context, release: str) -> Command:
    """The export guard of a switch: current names the release, and its unit runs and starts at boot."""
    return sh('[ "$(readlink "$1")" = "releases/$2" ] && systemctl is-enabled --quiet "$3" && '
              'systemctl is-active --quiet "$3"', ctx.current, release, unit_name(ctx, release))


def verify_live(ctx: Context, path: str) -> RunCommand:
    """After a change: the live app answers its health path through the socket nginx uses."""
    probe = probe_for(ctx, ctx.socket, path, 30)
    return RunCommand(_("ask the live app {path} the way nginx will").format(path=path), probe.command())

