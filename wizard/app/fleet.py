"""One recipe on many servers at once: capped concurrency, a result per host, failures kept apart.

Why asyncio and not processes: each host is one SSH connection waiting on the network most of the time;
a few dozen of them fit in one event loop. A failing host does not stop the others unless the operator asks
for --fail-fast, and then only hosts not yet started are left out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from wizard.app.recipefile import Recipe, fingerprint, host_name, with_overrides
from wizard.app.session import Questions, run_recipe
from wizard.engine import safe_yaml
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.events import Sink
from wizard.engine.facts import FactGatherer
from wizard.engine.fsutil import UnreadableFile, atomic_write_text, read_text_file
from wizard.engine.hooks import FleetPinned
from wizard.engine.i18n import _
from wizard.engine.runner import RunResult
from wizard.engine.transports.local import LocalTransport

HostStatus = Literal["ok", "failed", "not started"]


class InventoryError(DeployWizardError):
    """An inventory file that cannot be used: bad input, and the message names the file."""

    exit_code = ExitCode.BAD_INPUT
    bare = True


@dataclass
class HostResult:
    host: str
    status: HostStatus
    result: RunResult | None
    error: str | None
    seconds: float


def read_inventory(path: Path) -> list[str]:
    """A YAML file: `hosts: [web1, web2, ...]` (or a bare list), each a host name or IP address."""
    return load_inventory(path).hosts


@dataclass(frozen=True)
class Inventory:
    hosts: list[str]
    pins: dict[str, str]  # host -> its pinned host key ("SHA256:..."), for entries that give `host_key`


def load_inventory(path: Path) -> Inventory:
    """The hosts of an inventory, each a name (`web1`) or an entry (`{host: web1, host_key: SHA256:...}`): an
    entry's host key is that host's pin, as the recipe's own `host_key` is its target's (wizard.app.pins)."""
    try:
        data = safe_yaml.load(read_text_file(path))
    except UnreadableFile as exc:
        raise InventoryError(_("cannot read the inventory {path}: {why}").format(path=path, why=exc)) from None
    except yaml.YAMLError as exc:
        line, why = safe_yaml.where(exc)
        raise InventoryError(_("{path}:{line}: not a usable inventory: {why}").format(
            path=path, line=line or 1, why=why)) from None
    hosts = data.get("hosts") if isinstance(data, dict) else data
    if not isinstance(hosts, list) or not hosts:
        raise InventoryError(_("{path}: an inventory is a YAML list of hosts (or 'hosts:' with one)").format(
            path=path))
    names, pins = [], {}
    for index, entry in enumerate(hosts):
        value = entry.get("host") if isinstance(entry, dict) else entry
        pin = entry.get("host_key") if isinstance(entry, dict) else None
        try:
            names.append(host_name(str(value)))
            if pin is not None:
                pins[names[-1]] = fingerprint(str(pin))
        except ValueError as exc:
            raise InventoryError(_("{path}: hosts[{index}]: {why}").format(path=path, index=index, why=exc)) from None
    return Inventory(names, pins)


def serialized(questions: Questions) -> Questions:
    """The same questions, asked one at a time: parallel hosts must not interleave prompts."""
    lock = asyncio.Lock()

    def guard(ask):  # noqa: ANN001, ANN202
        if ask is None:
            return None

        async def one_at_a_time(*args):  # noqa: ANN002, ANN202
            async with lock:
                return await ask(*args)

        return one_at_a_time

    return Questions(trust_host_key=guard(questions.trust_host_key), sudo_password=guard(questions.sudo_password),
                     secret=questions.secret, operator=guard(questions.operator), on_failure=None,
                     key_passphrase=guard(questions.key_passphrase), pins=questions.pins)


async def pin_shared(recipe: Recipe) -> tuple[Recipe, list[str]]:
    """The recipe with every FleetPinned setting read once, here (a branch -> its commit), and the `--set`
    overrides that say so: a re-run of failed hosts passes them again, so it deploys the same commit."""
    gather = FactGatherer(LocalTransport())
    overrides = []
    for step, settings in recipe.selected():
        if isinstance(step, FleetPinned):
            pins = await step.pin_for_fleet(settings, gather)
            overrides += [f"{step.name}.{field}={value}" for field, value in pins.items()]
    return (with_overrides(recipe, overrides) if overrides else recipe), overrides


def batches(hosts: list[str], size: int) -> list[list[str]]:
    """Hosts in rollout order, `size` at a time (0: all at once)."""
    size = size or len(hosts) or 1
    return [hosts[i:i + size] for i in range(0, len(hosts), size)]


async def run_fleet(recipe: Recipe, mode: str, hosts: list[str], sink_for: Callable[[str], Sink],
                    questions: Questions, *, parallel: int = 5, fail_fast: bool = False,
                    lock_wait: int = 0, batch: int = 0,
                    on_batch: Callable[[int, int, list[str]], None] | None = None) -> list[HostResult]:
    """Every host, `parallel` at a time; with `batch`, a batch starts only once every host of the one before
    passed (its apply, release gate included): a failing batch stops the rollout and the hosts after it stay
    as they were, on the release they serve."""
    limit = asyncio.Semaphore(max(1, parallel))
    stop = asyncio.Event()
    asked = serialized(questions)

    async def one(host: str) -> HostResult:
        async with limit:
            if stop.is_set():
                return HostResult(host, "not started", None, _("stopped by --fail-fast"), 0.0)
            started = time.monotonic()
            try:
                result = await run_recipe(recipe, mode, sink_for(host), asked, host=host, lock_wait=lock_wait)
            except DeployWizardError as exc:
                result, error = None, str(exc)
            else:
                error = result.error
            ok = result is not None and result.ok
            if not ok and fail_fast:
                stop.set()
            return HostResult(host, "ok" if ok else "failed", result, error, time.monotonic() - started)

    groups = batches(hosts, batch)
    results: list[HostResult] = []
    failed_batch = 0
    for number, group in enumerate(groups, 1):
        if failed_batch:
            why = _("not started: batch {n} failed").format(n=failed_batch)
            results += [HostResult(host, "not started", None, why, 0.0) for host in group]
            continue
        if on_batch and len(groups) > 1:
            on_batch(number, len(groups), group)
        done = await asyncio.gather(*(one(host) for host in group))
        results += done
        if len(groups) > 1 and any(r.status != "ok" for r in done):
            failed_batch = number
    return results


def write_retry(results: list[HostResult], pins: dict[str, str], directory: Path, name: str) -> Path | None:
    """An inventory of the hosts that failed or did not start (with their host-key pins), for a re-run of only
    those; None when every host passed. Kept in the state directory: the recipe's folder may not be ours."""
    again = [r.host for r in results if r.status != "ok"]
    if not again:
        return None
    path = directory / "fleet" / f"{name}-retry.yaml"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    entries = [{"host": host, "host_key": pins[host]} if host in pins else host for host in again]
    atomic_write_text(path, yaml.safe_dump({"hosts": entries}, sort_keys=False), mode=0o600)
    return path
