"""Issue 15, item 5, live: the SSH connection is cut inside apt/dpkg, inside a migration and inside certificate
issuance of one first apply of the Django example; `apply --resume` finishes it, the server shows that nothing
ran twice (useradd, migration rows, certificates issued), and a plain apply then changes nothing. Ten random
points, each on a fresh server: bench/faults.py. Also: a package install left half-done is finished first."""

from __future__ import annotations

import pytest

from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.faults import (
    APT,
    CERTIFICATE,
    ENV,
    MIGRATION,
    add_slow_migration,
    apply_and_cut,
    once_on_the_server,
    resume_until_done,
    served,
)
from tests.live.services import DJANGO_APP, DJANGO_DOMAIN, django_recipe_text, lab


@pytest.fixture(scope="module")
def shop(box, live_dirs):
    with lab(box, live_dirs, source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN) as served_lab:
        add_slow_migration(served_lab.work, served_lab.bare)
        recipe = live_dirs / "django-app.yaml"
        recipe.write_text(django_recipe_text(served_lab.git_url, served_lab.acme, box.ip))
        yield recipe, served_lab.root_ca(live_dirs / "pebble-root.pem")


def test_cuts_inside_apt_a_migration_and_issuance_lose_nothing_and_run_nothing_twice(box, live_dirs, shop) -> None:
    recipe, ca = shop
    for number, point in enumerate((APT, MIGRATION, CERTIFICATE)):
        cut = apply_and_cut(live_dirs, box, recipe, point, resume=number > 0)
        print(f"cut {point.name}: interrupted {cut.interrupted!r}, inside: {cut.inside}, exit {cut.exit_code}")
        assert cut.interrupted, f"the run ended before reaching {point.name}"
        assert cut.exit_code == 1
        assert cut.inside, f"{cut.interrupted} finished before the cut {point.name}"
    done = resume_until_done(live_dirs, recipe)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert served(box, ca) == "Hello from Django. release says: first release. notes: 2\n\n200"
    assert once_on_the_server(box, live_dirs / "lab") == {
        "useradd": 1, "duplicate migration rows": 0, "slow migration rows": 1, "certificates issued": 1}
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV)
    assert finished(again)["changes"] == 0, again.stdout[-3000:]


def test_a_package_install_left_half_done_is_finished_first_and_said(box, live_dirs) -> None:
    # what a cut inside dpkg leaves: a package unpacked but never configured (dpkg --audit lists it)
    on_box(box, "cd /tmp && apt-get download -q tree >/dev/null && dpkg --unpack tree_*.deb >/dev/null 2>&1")
    assert "tree" in on_box(box, "dpkg --audit").stdout
    recipe = write_recipe(live_dirs / "tree.yaml", box, "  os_updates:\n    upgrade: none\n    packages: [tree]\n")
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json")
    assert result.returncode == 0, result.stdout[-3000:]
    said = [str(e["text"]) for e in events(result) if e["event"] == "output"]
    assert any("an earlier package install was interrupted; finishing it first" in line for line in said)
    assert on_box(box, "dpkg --audit").stdout.strip() == ""
    assert on_box(box, "tree --version").returncode == 0
