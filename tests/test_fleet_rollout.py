"""Fleets (issue 15, item 6): one commit for every host, rollouts in gated batches, a re-run of only the failed
hosts, and one-server commands that refuse a second --host.

The batching is tested with run_recipe replaced by a scripted outcome per host (what it decides is the order
and the gate, not what a host does); the commit is read with this machine's real git from a real repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from wizard.app import fleet
from wizard.app.recipefile import parse
from wizard.app.session import Questions
from wizard.cli.parser import build_parser
from wizard.engine.runner import RunResult
from wizard.engine.step import PlanError

RECIPE = """version: 1
name: shop
target: {host: 10.0.0.1, user: admin}
steps:
  code: {repo: 'https://git.example.test/shop.git', ref: main}
"""


def outcome(ok: bool) -> RunResult:
    return RunResult(ok=ok, changes=1, changed_steps=[], failed_step=None if ok else "code",
                     error=None if ok else "health check failed", seconds=0.0, round_trips=1)


@pytest.fixture
def scripted(monkeypatch):
    """run_recipe answers per host from `failing`, and records the order hosts started in."""
    started: list[str] = []
    failing: set[str] = set()

    async def run_recipe(recipe, mode, sink, questions, *, host, lock_wait=0):  # noqa: ANN001, ANN202
        started.append(host)
        return outcome(host not in failing)

    monkeypatch.setattr(fleet, "run_recipe", run_recipe)
    return started, failing


async def rollout(hosts: list[str], batch: int, parallel: int = 5) -> list[fleet.HostResult]:
    return await fleet.run_fleet(parse(RECIPE), "apply", hosts, lambda host: None, Questions(),
                                 parallel=parallel, batch=batch)


async def test_a_failing_batch_stops_the_rollout_and_leaves_later_hosts_alone(scripted) -> None:
    started, failing = scripted
    failing.add("web3")
    hosts = [f"web{i}" for i in range(1, 8)]
    results = await rollout(hosts, batch=2)
    assert started == ["web1", "web2", "web3", "web4"]  # batch 2 (web3, web4) ran whole, then nothing more
    assert [r.status for r in results] == ["ok", "ok", "failed", "ok", "not started", "not started", "not started"]
    assert results[4].error == "not started: batch 2 failed"


async def test_batches_that_pass_roll_out_every_host_in_order(scripted) -> None:
    started, _failing = scripted
    batches_seen: list[tuple[int, int, list[str]]] = []
    results = await fleet.run_fleet(parse(RECIPE), "apply", ["a", "b", "c"], lambda host: None, Questions(),
                                    batch=2, on_batch=lambda n, count, group: batches_seen.append((n, count, group)))
    assert [r.status for r in results] == ["ok"] * 3
    assert batches_seen == [(1, 2, ["a", "b"]), (2, 2, ["c"])]
    assert started == ["a", "b", "c"]


async def test_without_batches_a_failing_host_does_not_stop_the_others(scripted) -> None:
    _started, failing = scripted
    failing.add("a")
    results = await rollout(["a", "b", "c"], batch=0)
    assert [r.status for r in results] == ["failed", "ok", "ok"]


def test_the_retry_inventory_holds_only_failed_and_unstarted_hosts_with_their_pins(tmp_path) -> None:
    pin = "SHA256:" + "A" * 43
    results = [fleet.HostResult("a", "ok", outcome(True), None, 1.0),
               fleet.HostResult("b", "failed", outcome(False), "boom", 1.0),
               fleet.HostResult("c", "not started", None, "not started: batch 1 failed", 0.0)]
    path = fleet.write_retry(results, {"b": pin}, tmp_path, "shop")
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(path.read_text()) == {"hosts": [{"host": "b", "host_key": pin}, "c"]}
    assert fleet.load_inventory(path).hosts == ["b", "c"]  # it reads back as an inventory
    assert fleet.write_retry(results[:1], {}, tmp_path, "shop") is None


@pytest.fixture
def repo(tmp_path, monkeypatch) -> tuple[str, str]:
    """A real repository, reached through the recipe's https URL by git's own url rewriting."""
    work = tmp_path / "shop"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "app.py").write_text("print(1)\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.test"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{work}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://git.example.test/shop.git")
    return str(work), sha


async def test_a_branch_is_read_once_here_and_every_host_gets_its_commit(repo) -> None:
    _work, sha = repo
    pinned, overrides = await fleet.pin_shared(parse(RECIPE))
    assert overrides == [f"code.ref={sha}"]
    assert pinned.steps.code.ref == sha  # type: ignore[attr-defined]
    again, more = await fleet.pin_shared(pinned)  # a commit is already fixed: nothing to read
    assert more == [] and again.steps.code.ref == sha  # type: ignore[attr-defined]


async def test_a_ref_the_remote_lacks_stops_before_any_host_and_says_how_to_list_its_refs(repo) -> None:
    with pytest.raises(PlanError) as stop:
        await fleet.pin_shared(parse(RECIPE.replace("ref: main", "ref: nope")))
    said = str(stop.value)
    assert "https://git.example.test/shop.git has no branch or tag named nope" in said
    assert "git ls-remote --heads --tags https://git.example.test/shop.git" in said
    assert "full commit instead" not in said  # a typo is not fixed by a commit


async def test_a_remote_this_machine_cannot_reach_stops_before_any_host(repo, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")  # the second rewrite leads to no repository at all
    monkeypatch.setenv("GIT_CONFIG_KEY_1", f"url.{tmp_path / 'gone.git'}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", "https://git.example.test/gone.git")
    with pytest.raises(PlanError) as stop:
        await fleet.pin_shared(parse(RECIPE.replace("shop.git", "gone.git")))
    said = str(stop.value)
    assert "could not reach https://git.example.test/gone.git from this machine to read the commit main" in said
    assert "give a full commit instead" in said and "has no branch or tag" not in said


@pytest.mark.parametrize("command", [["rollback", "r.yaml"], ["unlock", "r.yaml"], ["maintenance", "r.yaml", "on"],
                                     ["verify", "r.yaml"]])
def test_one_server_commands_refuse_a_second_host(command: list[str], capsys) -> None:
    parser = build_parser()
    assert parser.parse_args([*command, "--host", "a"]).host == "a"
    with pytest.raises(SystemExit) as stop:
        parser.parse_args([*command, "--host", "a", "--host", "b"])
    assert stop.value.code == 2
    assert "--host given twice: this command acts on one server" in capsys.readouterr().err


def test_batch_takes_a_positive_count(capsys) -> None:
    parser = build_parser()
    assert parser.parse_args(["apply", "r.yaml", "--batch", "3"]).batch == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["apply", "r.yaml", "--batch", "0"])
    assert "--batch" in capsys.readouterr().err


def test_retry_file_is_written_in_the_state_directory(tmp_path: Path) -> None:
    results = [fleet.HostResult("b", "failed", None, "x", 0.0)]
    assert fleet.write_retry(results, {}, tmp_path, "shop") == tmp_path / "fleet" / "shop-retry.yaml"
    assert (tmp_path / "fleet").stat().st_mode & 0o777 == 0o700
