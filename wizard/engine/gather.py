"""How a gather of facts runs on the server: the script around the fact commands (wizard.engine.facts).

Why a module of its own: these are shell scripts, read and tested as such (tests/test_gather.py runs them).
"""

from __future__ import annotations

MARK = "@@DW-FACT"
LANES = 4  # fact commands of one gather that run at once on the server (see gather_script)


def gather_script(lines: list[str], lanes: int = LANES) -> str:
    """One shell script that runs every fact command and prints their answers in order, each between
    `@@DW-FACT i` and `@@DW-FACT-END i STATUS`.

    Why in lanes: a no-op re-apply waits mostly on the fact commands themselves (psql, git ls-remote, systemctl,
    dpkg-query: 0.75 s one after the other on the sandbox), and much of that is waiting on another process
    (the database, the git server, systemd). Facts only read, so they may run at the same time: `lanes`
    background lanes, each running its share in turn (so a server never runs more than `lanes` at once), each
    answer written to its own file in a fresh private directory (mktemp -d: 0700, a name no one else chose),
    printed in order once all lanes ended, the directory removed on every exit. Where no such directory can be
    made (a full or read-only /tmp), the commands run one after the other, as they always did: reading the
    server never depends on being able to write to it. Each command is a function defined once, run in a
    subshell of its own (its `exit` or `cd` ends there), with nothing on its stdin."""
    lanes = max(1, min(lanes, len(lines)))
    functions = "".join(f"dw_f{index}() (\n{line}\n)\n" for index, line in enumerate(lines))
    shares: list[list[str]] = [[] for _lane in range(lanes)]
    for index in range(len(lines)):
        # the status is saved before anything else runs: `$?` later would be another command's
        shares[index % lanes].append(f'dw_f{index} >"$dw_d/{index}" 2>/dev/null; echo $? >"$dw_d/{index}.s"')
    run = "\n".join("{ " + "; ".join(share) + "; } </dev/null &" for share in shares)
    indexes = " ".join(str(index) for index in range(len(lines)))
    return (f"{functions}"
            f"if dw_d=$(mktemp -d 2>/dev/null); then\n"
            f"trap 'rm -rf \"$dw_d\"' EXIT; trap 'exit 1' HUP INT TERM\n{run}\nwait\n"
            f"for dw_i in {indexes}; do echo \"{MARK} $dw_i\"; cat \"$dw_d/$dw_i\" 2>/dev/null; "
            f"echo; echo \"{MARK}-END $dw_i $(cat \"$dw_d/$dw_i.s\" 2>/dev/null || echo 255)\"; done\n"
            f"else\n"
            f"for dw_i in {indexes}; do echo \"{MARK} $dw_i\"; \"dw_f$dw_i\" 2>/dev/null </dev/null; dw_s=$?; "
            f"echo; echo \"{MARK}-END $dw_i $dw_s\"; done\n"
            f"fi")


# $1 the content limit, then the paths. Per path, `@@DW-FILE` and either `absent` or the same `stat` line as
# FileInfo's, then `b64 CONTENT` (its SHA-256 is taken here, from the content) or, above the limit,
# `sha HASH`; `unreadable` when neither could be read.
FILES_SCRIPT = r'''limit=$1; shift
for f do
  echo @@DW-FILE
  if [ -f "$f" ] && info=$(stat -c "%a %U %G %s" "$f"); then
    echo "$info"
    if h=$(sha256sum < "$f"); then echo "sha ${h%% *}"; else echo unreadable; continue; fi
    if [ "${info##* }" -le "$limit" ]; then
      b=$(base64 -w0 < "$f") && echo "b64 $b"
    fi
  else
    echo absent
  fi
done'''
