"""`deploy-wizard deploy FILE --ref REF` (issue 20, 5.3) without a server: which steps a deploy runs, how the ref
is set and refused, and the preflight that keeps it off a server the recipe never set up. The live proof is
tests/live/test_observe.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.fakes import ScriptedTransport
from tests.live.services import git_daemon
from wizard.app.deploy import DeployError, prepare, provisioned, release_steps
from wizard.app.recipefile import RecipeError, load, with_overrides
from wizard.engine.errors import ExitCode
from wizard.engine.transports.base import Result

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_a_deploy_runs_the_release_steps_of_the_recipe_in_order() -> None:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    assert release_steps(recipe) == ("code", "database", "static", "app_server")


def test_a_full_commit_is_shipped_as_it_is_without_asking_git() -> None:
    shipment = asyncio.run(prepare(load(ROOT / "examples" / "flask-app.yaml"), SHA))
    assert shipment.commit == SHA and shipment.recipe.steps.code.ref == SHA
    assert shipment.steps == ("code", "database", "static", "app_server")


def test_a_ref_that_is_not_a_ref_is_refused_naming_the_field() -> None:
    with pytest.raises(RecipeError) as caught:
        asyncio.run(prepare(load(ROOT / "examples" / "flask-app.yaml"), "bad;ref"))
    assert caught.value.exit_code == ExitCode.BAD_INPUT and "code.ref" in str(caught.value)


def test_a_branch_that_names_nothing_is_bad_input(tmp_path) -> None:
    repo = tmp_path / "demo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    with git_daemon(tmp_path, "127.0.0.1") as url:  # git ls-remote on this machine, as a deploy from CI asks
        recipe = with_overrides(load(ROOT / "examples" / "flask-app.yaml"), [f"code.repo={url}/demo.git"])
        with pytest.raises(DeployError) as caught:
            asyncio.run(prepare(recipe, "no-such-branch"))
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert "--ref no-such-branch" in str(caught.value) and "no branch or tag named no-such-branch" in str(caught.value)


def test_a_recipe_without_releases_cannot_deploy() -> None:
    with pytest.raises(DeployError, match="no code step"):
        asyncio.run(prepare(load(ROOT / "examples" / "sandbox.yaml"), "main"))


@pytest.mark.parametrize("refused", [True, False])
def test_the_preflight_refuses_a_server_where_nothing_is_live(tmp_path, refused: bool) -> None:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    current = tmp_path / "current"  # stands in for /srv/demo/current: the fact's own command reads it here
    if not refused:
        current.symlink_to("releases/0123456789ab")

    def answer(line: str) -> Result:
        done = subprocess.run(["sh", "-c", line.replace("/srv/demo/current", str(current))], capture_output=True,
                              text=True)
        return Result(done.returncode, done.stdout, done.stderr)

    transport = ScriptedTransport(user="root", answer=answer)

    async def ask() -> None:
        await transport.connect()
        await provisioned(transport, recipe.context())

    if refused:
        with pytest.raises(DeployError, match="run `deploy-wizard apply` once first"):
            asyncio.run(ask())
    else:
        asyncio.run(ask())


def test_deploy_without_ref_is_a_usage_error() -> None:
    shown = subprocess.run([sys.executable, "-m", "wizard", "deploy", "examples/flask-app.yaml"], capture_output=True,
                           text=True, cwd=ROOT)
    assert shown.returncode == 2 and "--ref" in shown.stderr


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_example_ci_jobs_run_a_deploy_command_line_that_parses(name: str) -> None:
    """The deploy line of each example job, as the CI shell would split it, is a valid `deploy` command line
    (the live test runs the same line against a sandbox: tests/live/test_observe.py)."""
    import shlex

    import yaml

    from wizard.cli.parser import build_parser

    text = (ROOT / "examples" / "ci" / name).read_text()
    yaml.safe_load(text)  # a well-formed job file
    [line] = [line.strip(" -") for line in text.splitlines() if "deploy-wizard deploy " in line
              and not line.lstrip().startswith("#")]
    words = shlex.split(line.split("run:", 1)[-1].replace('"$GITHUB_SHA"', SHA).replace('"$CI_COMMIT_SHA"', SHA))
    args = build_parser().parse_args(words[1:])
    assert args.command == "deploy" and args.ref == SHA and args.file == "deploy/recipe.yaml"
    assert args.lock_wait == 600
