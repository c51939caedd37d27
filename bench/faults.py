#!/usr/bin/env python3
"""Cut the SSH connection at random points of a first apply of the Django example, each on a fresh server, and
count how many converged with nothing run twice (issue 15, item 5; CI runs three fixed points in
tests/live/test_faults.py).

Each point: boot a sandbox with the practice lab (its git server and test CA), give the example a slow data
migration, start `apply`, cut the connection at the point (the login user's sshd session is killed, as a
dropped network does), then finish with `apply --resume` (even points) or a plain `apply` (odd points). Then
prove it from the server: the site's answer, useradd once in the server's journal, every migration row once,
one certificate issued in the CA's log, and a further apply changing nothing. Points: the three fixed ones
(inside apt/dpkg, a migration, certificate issuance) first, then random changes of the plan with a random delay.

Usage (root, Linux): python3 bench/faults.py [--points 10] [--seed N] [--release trixie|bookworm]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live.conftest import boot, cli, events, finished  # noqa: E402
from tests.live.faults import (  # noqa: E402
    APT,
    CERTIFICATE,
    ENV,
    MIGRATION,
    KillPoint,
    add_slow_migration,
    apply_and_cut,
    once_on_the_server,
    served,
)
from tests.live.services import DJANGO_APP, DJANGO_DOMAIN, django_recipe_text, lab  # noqa: E402
from wizard.lab import sandbox  # noqa: E402

ONCE = {"useradd": 1, "duplicate migration rows": 0, "slow migration rows": 1, "certificates issued": 1}


def one_point(number: int, point: KillPoint | None, rng: random.Random, release: sandbox.Release) -> dict:
    base = Path(tempfile.mkdtemp(prefix="dw-faults-"))
    box = boot(base, release)
    try:
        with lab(box, base, source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN) as served_lab:
            add_slow_migration(served_lab.work, served_lab.bare)
            recipe = base / "django-app.yaml"
            recipe.write_text(django_recipe_text(served_lab.git_url, served_lab.acme, box.ip))
            if point is None:  # a random change of the plan, a random moment after it starts
                planned = cli(base, "plan", str(recipe), "--json", env=ENV)
                count = sum(len(e["changes"]) for e in events(planned) if e["event"] == "step_planned")
                nth, delay = rng.randint(1, max(count, 1)), round(rng.uniform(0, 3), 1)
                point = KillPoint(f"random: change {nth} of {count}, {delay} s in", nth=nth, delay=delay)
            cut = apply_and_cut(base, box, recipe, point, resume=False)
            finish = ["--resume"] if number % 2 == 0 else []
            done = cli(base, "apply", str(recipe), "--yes", "--json", *finish, env=ENV, timeout=1500)
            again = cli(base, "apply", str(recipe), "--yes", "--json", env=ENV)
            once = once_on_the_server(box, base / "lab")
            answer = served(box, served_lab.root_ca(base / "ca.pem"))
            converged = (done.returncode == 0 and finished(again)["changes"] == 0 and once == ONCE
                         and answer.endswith("notes: 2\n\n200"))
            return {"point": point.name, "interrupted": cut.interrupted or "(the run ended first)",
                    "inside": cut.inside, "finished with": "apply --resume" if finish else "apply",
                    "journal": finished(done).get("journal"), "once": once, "converged": converged}
    finally:
        sandbox.down(box.name, progress=lambda m: None)  # the journals stay in base/state, for reading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed, so a run can be repeated)")
    parser.add_argument("--release", choices=list(sandbox.RELEASES), default=sandbox.DEFAULT_RELEASE)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)
    print(f"seed {seed}, {args.points} points, Debian {args.release}", flush=True)
    fixed: list[KillPoint | None] = [APT, MIGRATION, CERTIFICATE]
    points = (fixed + [None] * args.points)[:args.points]
    results = []
    for number, point in enumerate(points):
        result = one_point(number, point, rng, args.release)
        results.append(result)
        print(f"{number + 1:2}. {result['point']}: cut inside {result['interrupted']!r} "
              f"({'before' if result['inside'] else 'after'} it finished); {result['finished with']}: "
              f"{'converged' if result['converged'] else 'DID NOT CONVERGE'}; {result['once']}; "
              f"journal {result['journal']}", flush=True)
    good = sum(r["converged"] for r in results)
    print(f"\n{good} of {len(results)} cuts converged with nothing run twice (seed {seed})")
    return 0 if good == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
