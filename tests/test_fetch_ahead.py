"""Downloads ahead (wizard.engine.behind, RunCommand.fetch; issue 22): each install queued behind the steps has
its packages downloaded while the install before it runs, one download at a time, and starts only once its own
download ended. A download that fails costs only its time; no other package command runs while one is going.

On a real shell with toy installs (tests/test_behind.py): the order things happened in is read back from the
log they all append to, never timed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from recipes.shared.apt import install_missing
from tests.test_behind import decides_after, fails, installs, log, runner
from wizard.engine.behind import PACKAGE_LOCK_ENV
from wizard.engine.events import ChangeStarted, Event, Notice


def test_a_download_ahead_runs_while_the_install_before_it_runs_and_its_install_waits_for_it(tmp_path: Path) -> None:
    """python's install holds until tls's download has started (or 5 s in vain): both go on only if the download
    runs beside it. tls's install then starts after its download ended (which holds up to 3 s, long after
    python's install ended). python's install was first in the queue, so it started at once and downloaded for
    itself: nothing ran beside it to win time."""
    (tmp_path / "hold").touch()
    steps = [installs("base", ("curl",), early=False), installs("python", ("python3",), wait="fetching.certbot",
                                                                  fetch=True),
             installs("tls", ("certbot",), fetch=True)]
    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, steps).apply()).ok
    lines = log(tmp_path)
    assert lines.index("start python3") < lines.index("fetch certbot") < lines.index("end python3"), lines
    assert lines.index("fetched certbot") < lines.index("start certbot"), lines
    assert "fetch python3" not in lines
    notes = [e.text for e in events if isinstance(e, Notice) and e.step == "tls"]
    assert any("its packages were downloaded in advance, during the previous install" in text for text in notes), notes
    # the download is a note in the install's place, not a change of its own
    assert [e.why for e in events if isinstance(e, ChangeStarted) and e.step == "tls"] == ["install certbot"]


def test_a_failed_download_ahead_costs_only_its_time_and_the_install_says_so(tmp_path: Path) -> None:
    (tmp_path / "fetchfail").touch()
    steps = [installs("base", ("curl",), early=False), installs("python", ("python3",), wait="fetching.certbot"),
             installs("tls", ("certbot",), fetch=True)]
    events: list[Event] = []
    assert asyncio.run(runner(tmp_path, events, steps).apply()).ok
    assert (tmp_path / "certbot").exists() and "fetched certbot" not in log(tmp_path)
    notes = [e.text for e in events if isinstance(e, Notice) and e.step == "tls"]
    assert any("downloading its packages in advance failed (E: Failed to fetch), so the install downloaded them "
               "itself" in text for text in notes), notes


def test_after_a_failure_no_package_command_runs_beside_a_download_still_going(tmp_path: Path) -> None:
    """python's install fails once tls's download has started; the operator retries at once, and the retry (a
    package command in python's own turn) waits for that download to end (it holds up to 3 s): a download
    reads apt's lists unlocked, so nothing that may change them runs beside it. No download starts after the
    failure."""
    (tmp_path / "fail.python3").touch()
    (tmp_path / "hold").touch()

    async def on_failure(step: str, error: str) -> str:
        (tmp_path / "fail.python3").unlink()
        return "retry"

    steps = [installs("base", ("curl",), early=False), installs("python", ("python3",), wait="fetching.certbot"),
             installs("tls", ("certbot",), fetch=True), installs("web", ("nginx",), fetch=True)]
    assert asyncio.run(runner(tmp_path, [], steps, on_failure=on_failure).apply()).ok
    lines = log(tmp_path)
    retry = [index for index, line in enumerate(lines) if line == "start python3"][1]
    assert lines.index("fetched certbot") < retry, lines
    assert "fetch nginx" not in lines  # the queue stopped at the failure: web installs in its own turn


def test_no_install_starts_while_the_operator_is_asked_even_when_its_download_ends_meanwhile(
        tmp_path: Path) -> None:
    """tls's download holds up to 3 s; web's install, before it in the queue, ends once that download started, so
    tls's install waits for its download. A step fails then; while the operator decides, the download ends, and
    tls's install must still not start (dpkg's lock is theirs for a fix by hand) until they choose."""
    (tmp_path / "hold").touch()

    async def on_failure(step: str, error: str) -> str:
        return await decides_after(tmp_path, "fetched certbot")

    steps = [installs("base", ("curl",), early=False), fails("end nginx"),
             installs("web", ("nginx",), wait="fetching.certbot"), installs("tls", ("certbot",), fetch=True)]
    assert asyncio.run(runner(tmp_path, [], steps, on_failure=on_failure).apply()).ok
    lines = log(tmp_path)
    assert lines.index("fetched certbot") < lines.index("decided") < lines.index("start certbot"), lines


def test_a_run_that_ends_during_a_download_starts_no_install_after_it(tmp_path: Path) -> None:
    """web's install ends once tls's download started, so tls's install waits for that download (it holds up to
    3 s); a step fails then, and the run ends: the download is cut, and tls's install never starts, although
    the download it waited for is over."""
    (tmp_path / "hold").touch()

    steps = [installs("base", ("curl",), early=False), fails("end nginx"),
             installs("web", ("nginx",), wait="fetching.certbot"),
             installs("tls", ("certbot",), fetch=True)]
    result = asyncio.run(runner(tmp_path, [], steps).apply())
    assert not result.ok and result.failed_step == "fails"
    assert "end nginx" in log(tmp_path) and "start certbot" not in log(tmp_path), log(tmp_path)


def test_an_early_apt_install_downloads_ahead_without_dpkg_locks_and_a_late_one_does_not() -> None:
    pg = install_missing(("postgresql", "logrotate"), {}, recommends=False, early=True)
    exporter = install_missing(("prometheus-blackbox-exporter",), {})
    assert pg is not None and exporter is not None and exporter.fetch is None
    assert pg.fetch is not None
    shown = pg.fetch.summary()
    assert shown.startswith("apt-get -y --download-only install --no-install-recommends postgresql logrotate")
    script = " ".join(str(bit) for bit in pg.fetch.bits)
    # its own folder, dpkg's locks untaken (the install before it holds them), never the lock wait of an install
    assert "Debug::NoLocking=1" in script and 'Dir::Cache::Archives="$d"' in script and "mv -f -t " in script
    assert "mktemp -d /var/cache/apt/deploy-wizard-fetch.XXXXXX" in script  # one folder per download
    assert PACKAGE_LOCK_ENV not in dict(pg.fetch.env) and "waiting for the package manager lock" not in script
    assert pg.fetch.bits[-3:] == ("--no-install-recommends", "postgresql", "logrotate")
