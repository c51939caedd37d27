"""The runbook's commands run as shown (finding of the third trial: the checkout, the staging and the install
were comments). The Flask example's runbook is made here, as an operator would (`deploy-wizard export`), and the
command blocks of its first four steps (OS updates, the deploy user, Python, the code) are pasted into one shell
on a fresh sandbox as the recipe's login: the release is checked out at the commit the runbook names, staged, and
its requirements are installed into the venv, proven on the server (the files, the link, `import flask` in the
venv). About two minutes: one sandbox, no apply."""

from __future__ import annotations

import re
import subprocess

from tests.live.conftest import cli
from tests.live.services import flask_recipe_text, lab
from wizard.lab import sandbox

FIRST_STEPS = ("OS updates", "Deploy user", "Python and virtual environment", "Code")


def command_block(runbook: str, title: str) -> str:
    section = runbook.split(f". {title}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_runbooks_checkout_staging_and_install_run_as_shown(box, live_dirs) -> None:
    with lab(box, live_dirs) as served:
        recipe = live_dirs / "flask.yaml"
        recipe.write_text(flask_recipe_text(served.git_url, served.acme, box.ip))
        made = cli(live_dirs, "export", str(recipe), env={"DEMO_DB_PASSWORD": "unused-here"}, timeout=120)
        assert made.returncode == 0, made.stderr
        runbook = made.stdout
        sha = re.search(r"`main` was commit ([0-9a-f]{12})", runbook)
        assert sha, runbook[:2000]
        release = f"/srv/demo/releases/{sha.group(1)}"
        script = "set -e\n" + "\n".join(command_block(runbook, title) for title in FIRST_STEPS)
        assert f"git clone {served.git_url}/demo.git {release}" in script and f"elif test -f {release}" in script
        ran = subprocess.run(sandbox.ssh_command(box.name, "admin", ["bash -s"]), input=script, capture_output=True,
                             text=True, timeout=900)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    proof = subprocess.run(sandbox.ssh_command(box.name, "root", [
        f"test -f {release}/requirements.txt && readlink /srv/demo/next && stat -c %U {release} && "
        "runuser -u demo -- /srv/demo/venv/bin/python -c 'import flask, gunicorn; print(\"imported\")'"]),
        capture_output=True, text=True, timeout=120)
    assert proof.returncode == 0, proof.stdout + proof.stderr
    assert proof.stdout.split() == [f"releases/{sha.group(1)}", "demo", "imported"]
