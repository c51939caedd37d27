"""The Plan tab's commands run as shown (finding of the fresh-eyes trial): each `$` line pasted into a login shell
on the server, as the recipe's login user, does what the step does. So: `sudo` where root is needed, one `sudo -u`
/ `runuser -u` over the whole line when it has shell syntax (`sudo a && b` ran `b` as the wrong user), an
environment as `env NAME=value`, no bash-only here-strings, and no sentence after a `$`."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from screens.app import WizardApp
from tests.tui.conftest import flow_keys
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.preview import preview
from wizard.app.teach import Login, _compound, _line, as_typed
from wizard.engine.commands import cmd, sh
from wizard.engine.step import RunCommand

PRIVILEGE = ("sudo", "runuser")


def bash_reads(line: str) -> bool:
    return subprocess.run(["bash", "-n", "-c", line], capture_output=True).returncode == 0


def test_the_privilege_covers_the_whole_line() -> None:
    admin, root = Login("web1", user="admin"), Login("web1", user="root")
    chained = cmd("nginx", "-t", display="nginx -t && systemctl reload nginx")
    assert as_typed(chained, admin) == "sudo sh -c 'nginx -t && systemctl reload nginx'"
    assert as_typed(chained, root) == "nginx -t && systemctl reload nginx"
    pip = cmd("/srv/a/venv/bin/pip", "install", "gunicorn", user="a", env={"HOME": "/srv/a/shared/home"})
    assert as_typed(pip, admin) == "sudo -u a env HOME=/srv/a/shared/home /srv/a/venv/bin/pip install gunicorn"
    assert as_typed(pip, root) == "runuser -u a -- env HOME=/srv/a/shared/home /srv/a/venv/bin/pip install gunicorn"
    assert as_typed(cmd("id", root=False), admin) == "id"
    assert as_typed(sh('echo "$1"', "x", display="a ... b"), admin) == "# a ... b"  # abridged: not to paste


@pytest.mark.parametrize("user", ["admin", "root"])
def test_every_planned_command_of_every_step_runs_as_typed(draft: Draft, user: str) -> None:
    draft.target["user"] = user
    recipe = draft.recipe()
    ctx, login = recipe.context(), Login("web1.example.com", user=user)
    for step, settings in recipe.selected():
        changes, _notes, _error = preview(step, settings, ctx)
        for change in (c for c in changes if isinstance(c, RunCommand)):
            line = as_typed(change.command, login)
            if line.startswith("#"):  # an abridged form (a placeholder, "..."), shown as a comment
                continue
            where = f"{step.name}: {line}"
            assert bash_reads(line), where
            assert "<<<" not in line, where
            words = shlex.split(line)
            other = change.command.user not in (None, user)
            if other or (change.command.root and user != "root"):  # the privilege the transport would add
                assert words[0] == ("runuser" if user == "root" else "sudo"), where
            else:
                assert line == _line(change.command), where
            if words[0] in PRIVILEGE:
                assert not _compound(line), where
                rest = words[words.index("--") + 1 if "--" in words else (3 if words[1] == "-u" else 1):]
                assert rest[0] not in ("export", "cd") and "=" not in rest[0], where


async def test_the_plan_tab_shows_runnable_lines_and_says_where(draft: Draft) -> None:
    app = WizardApp(draft, start="flow")
    seen: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("os_updates+deploy_user", "python", "code", "database", "tls+firewall"):
            app.goto(flow_keys()[key])
            await pilot.pause(0.3)
            seen += str(app.screen.query_one("#plan").render()).splitlines()
    text = "\n".join(seen)
    dollar = [line.strip()[2:] for line in seen if line.strip().startswith("$ ")]
    assert all(bash_reads(line) for line in dollar)
    assert "$ sudo sh -c 'apt-get update && touch /var/lib/apt/periodic/update-success-stamp'" in text
    assert "$ sudo apt-get -y upgrade" in text  # right after the refresh: `upgrade` removes nothing
    assert "$ sudo -u demo env HOME=/srv/demo/shared/home /srv/demo/venv/bin/pip install" in text
    assert "$ sudo runuser -u postgres -- psql -c \"create role demo login password '***'\"" in text
    assert "psql <<<" not in text and "export HOME" not in text
    # sentences: no `$`
    for words in ("what to install is read from the release", "prove a fresh SSH login works", "write /etc/"):
        assert words in text and f"$ {words}" not in text
    assert "Each $ line runs as typed in a shell on the server: ssh admin@web1.example.com" in text
    assert registry.step("code")  # the git checkout is a comment while its commit is unknown (no server yet)
    assert "# git clone https://git.example.com/demo.git /srv/demo/releases/<commit>" in text
