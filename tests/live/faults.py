"""Cutting the SSH connection in the middle of a first apply, and proving from the server that nothing was lost
and nothing that must happen once happened twice (issue 15, item 5).

Shared by tests/live/test_faults.py (a few points, in CI) and bench/faults.py (ten random points, each on its
own fresh server). A kill point is a change of the plan (by its step and words, or its number in the run) and
a delay after it starts; the connection is cut by killing the login user's sshd session on the server, which
is what a dropped network does to the commands running in it (they get SIGHUP).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from tests.live.conftest import cli, events, on_box
from tests.live.services import DJANGO_DOMAIN, git
from wizard.lab import sandbox

ENV = {"SHOP_DB_PASSWORD": "shop-db-secret", "SHOP_SECRET_KEY": "k" * 60}
# a migration that takes a few seconds, so a cut can land inside it (the example's own two take milliseconds)
SLOW_MIGRATION = '''from django.db import migrations


def slowly(apps, schema_editor):
    import time
    time.sleep(6)
    apps.get_model("notes", "Note").objects.create(text="written by the slow migration")


class Migration(migrations.Migration):
    dependencies = [("notes", "0002_first_note")]
    operations = [migrations.RunPython(slowly, migrations.RunPython.noop)]
'''


@dataclass(frozen=True)
class KillPoint:
    """Where to cut: the `nth` change whose step is `step` (any, when None) and whose words hold `words`,
    `delay` seconds after it started."""

    name: str
    words: str = ""
    step: str | None = None
    nth: int = 1
    delay: float = 1.0
    behind: bool = False  # an install in the background: the note that it started, not its step's change

    def matches(self, event: dict[str, object]) -> bool:
        if self.behind:
            text = str(event.get("text", ""))
            return (event["event"] == "notice" and text.startswith("installing in the background")
                    and self.words in text)
        return (event["event"] == "change_started" and not event.get("check")
                and (self.step is None or event["step"] == self.step) and self.words in str(event["description"]))

    def described(self, event: dict[str, object]) -> str:
        """The command the cut lands in, as its change_done names it."""
        return str(event["text"]).split(": ", 1)[1] if self.behind else str(event["description"])


# inside apt/dpkg (PostgreSQL's install unpacks for ~10 s, in the background while the python and code steps
# run: wizard.engine.behind), inside a migration, inside certificate issuance
APT = KillPoint("inside apt/dpkg (the database's packages, installing in the background)", "postgresql",
                behind=True, delay=4.0)
MIGRATION = KillPoint("inside a migration", "manage.py migrate", delay=3.0)
CERTIFICATE = KillPoint("inside certificate issuance", "certonly", step="tls", delay=0.8)


@dataclass
class Cut:
    point: KillPoint
    interrupted: str  # the command the cut landed in ("" when the run ended before the point)
    inside: bool  # the cut came before that command finished
    exit_code: int


def add_slow_migration(work: Path, bare: Path) -> None:
    (work / "notes" / "migrations" / "0003_slow.py").write_text(SLOW_MIGRATION)
    git("add", "notes/migrations/0003_slow.py", cwd=work)
    git("commit", "-q", "-m", "a slow data migration", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)


def apply_and_cut(live_dirs: Path, box: sandbox.SandboxInfo, recipe: Path, point: KillPoint, *,
                  resume: bool) -> Cut:
    """Run apply (with --resume when asked) and cut the connection at `point`; the run must then fail."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en", **ENV}
    argv = [sys.executable, "-m", "wizard", "apply", str(recipe), "--yes", "--json", *(["--resume"] if resume else [])]
    run = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, target, cut_at = [], None, 0.0
    for line in run.stdout:  # type: ignore[union-attr]
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        seen.append(event)
        if point.matches(event) and sum(point.matches(e) for e in seen) == point.nth:
            target = event
            time.sleep(point.delay)
            cut_at = time.time()
            on_box(box, "pkill -f 'sshd(-session)?: admin'")  # OpenSSH 10 (Debian 13): sshd-session
            break
    rest, _err = run.communicate(timeout=600)
    seen += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    if target is None:
        return Cut(point, "", False, run.returncode)
    described = point.described(target)
    done = [e for e in seen if e["event"] == "change_done" and described in str(e["description"])
            and float(e["ts"]) >= float(target["ts"])]
    inside = not done or float(done[0]["ts"]) > cut_at
    if point.behind:  # its step never showed it: ask dpkg whether the install was left unfinished
        status = on_box(box, f"dpkg-query -W -f='${{db:Status-Status}}' {point.words} 2>/dev/null || true")
        inside = inside and status.stdout.strip() != "installed"
    return Cut(point, described, inside, run.returncode)


def resume_until_done(live_dirs: Path, recipe: Path) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, "apply", str(recipe), "--yes", "--json", "--resume", env=ENV, timeout=1500)


def once_on_the_server(box: sandbox.SandboxInfo, lab_dir: Path) -> dict[str, int]:
    """What must have happened exactly once, counted where it happened: the server's journal (useradd), the
    database (django_migrations rows, the slow migration's row) and the CA's own log (certificates issued)."""
    users = on_box(box, "journalctl -q --no-pager _COMM=useradd | grep -c 'new user: name=shop,' || true")
    rows = on_box(box, "cd / && runuser -u postgres -- psql -d shop -tAc \"select count(*) - count(distinct "
                       "(app, name)) from django_migrations\"")
    slow = on_box(box, "cd / && runuser -u postgres -- psql -d shop -tAc \"select count(*) from notes_note "
                       "where text = 'written by the slow migration'\"")
    issued = sum("Issued certificate" in line for line in (lab_dir / "pebble.log").read_text().splitlines())
    return {"useradd": int(users.stdout.strip() or 0), "duplicate migration rows": int(rows.stdout.strip() or -1),
            "slow migration rows": int(slow.stdout.strip() or 0), "certificates issued": issued}


def served(box: sandbox.SandboxInfo, ca: Path) -> str:
    answer = subprocess.run(["curl", "-sS", "-m", "20", "--cacert", str(ca), "--resolve",
                             f"{DJANGO_DOMAIN}:443:{box.ip}", "-w", "\n%{http_code}", f"https://{DJANGO_DOMAIN}/"],
                            capture_output=True, text=True)
    return answer.stdout


def changes_started(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [str(e["description"]) for e in events(result) if e["event"] == "change_started" and not e.get("check")]
