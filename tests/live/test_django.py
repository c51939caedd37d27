"""Issue 14, live: a real Django project (examples/django-app: migrations, collectstatic, a settings module that
needs its env, uploads) deployed as it is; its settings checked against the server before a release goes
live; media kept across releases and rollbacks."""

from __future__ import annotations

import subprocess

import pytest

from tests.live.conftest import cli, events, finished, on_box
from tests.live.services import DJANGO_APP, DJANGO_DOMAIN, django_recipe_text, lab, push_change

ENV = {"SHOP_DB_PASSWORD": "shop-db-secret", "SHOP_SECRET_KEY": "k" * 60}


@pytest.fixture(scope="module")
def shop(box, live_dirs):
    with lab(box, live_dirs, source=DJANGO_APP, name="shop", domain=DJANGO_DOMAIN) as served:
        recipe = live_dirs / "django-app.yaml"
        recipe.write_text(django_recipe_text(served.git_url, served.acme, box.ip))
        first = apply(live_dirs, recipe)
        yield {"recipe": recipe, "work": served.work, "bare": served.bare, "first": first,
               "ca": served.root_ca(live_dirs / "pebble-root.pem")}


def apply(live_dirs, recipe, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=ENV, timeout=1500)
    assert (result.returncode == 0) is ok, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def https(box, shop, path: str, *extra: str) -> str:
    answer = subprocess.run(["curl", "-sS", "-m", "20", "--cacert", str(shop["ca"]), "--resolve",
                             f"{DJANGO_DOMAIN}:443:{box.ip}", "-w", "\n%{http_code}", *extra,
                             f"https://{DJANGO_DOMAIN}{path}"], capture_output=True, text=True)
    return answer.stdout


def security_headers(box, shop, path: str) -> dict[str, list[str]]:
    """The response's security headers, every value of each (a header sent twice has two)."""
    found: dict[str, list[str]] = {}
    for line in https(box, shop, path, "-o", "/dev/null", "-D", "-").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.lower() in ("x-content-type-options", "referrer-policy", "x-frame-options",
                                    "strict-transport-security"):
            found.setdefault(name.lower(), []).append(value.strip())
    return found


def notices(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [str(e["text"]) for e in events(result) if e["event"] == "notice"]


def test_the_project_runs_as_it_is_and_uploads_survive_releases_and_rollbacks(box, live_dirs, shop) -> None:
    # the page reads a row its data migration wrote into PostgreSQL, and the release it was deployed from
    assert https(box, shop, "/") == "Hello from Django. release says: first release. notes: 1\n\n200"
    assert https(box, shop, "/static/css/site.css").endswith("font-family: sans-serif; }\n\n200")
    # each security header once: Django's own where it sends one (its stricter Referrer-Policy), the site's where
    # it sends none, and the site's alone on what nginx serves itself
    assert security_headers(box, shop, "/") == {
        "x-content-type-options": ["nosniff"], "referrer-policy": ["same-origin"],
        "x-frame-options": ["SAMEORIGIN"], "strict-transport-security": ["max-age=31536000"]}
    assert security_headers(box, shop, "/static/css/site.css") == {
        "x-content-type-options": ["nosniff"], "referrer-policy": ["strict-origin-when-cross-origin"],
        "x-frame-options": ["SAMEORIGIN"], "strict-transport-security": ["max-age=31536000"]}
    # check --deploy ran before the release took traffic, and its findings were shown
    first = events(shop["first"])
    said = next(i for i, e in enumerate(first) if e["event"] == "notice" and "check --deploy" in str(e["text"]))
    switched = next(i for i, e in enumerate(first) if e["event"] == "change_started"
                    and str(e["description"]).startswith("ln -sfn releases/") and "/srv/shop/current" in
                    str(e["description"]))
    assert said < switched
    # a first release has nothing before it: the switch names no release to stop, and says nothing else serves
    assert "stop" not in str(first[switched]["description"]) and "before" not in str(first[switched]["description"])
    started = [e for e in first if e["event"] == "notice" and str(e["text"]).startswith("starting release")]
    assert [str(e["text"]).endswith("(nothing else serves it yet)") and e["level"] == "note" for e in started] == [True]
    # a re-apply changes nothing and reads every step's facts in a few round trips, with no health check
    again = finished(apply(live_dirs, shop["recipe"]))
    assert again["changes"] == 0 and again["round_trips"] <= 8 < again["commands"], again
    # verify asks whether the app's role may create a table, and leaves no error in PostgreSQL's log
    denied = "cat /var/log/postgresql/postgresql-*-main.log | grep -c 'permission denied' || true"
    before = on_box(box, denied).stdout
    verified = cli(live_dirs, "verify", str(shop["recipe"]), env=ENV)
    assert verified.returncode == 0 and "has_schema_privilege" in verified.stdout, verified.stdout[-3000:]
    assert on_box(box, denied).stdout == before

    stored = https(box, shop, "/upload?name=kept", "-X", "POST", "--data-binary", "uploaded before the release")
    assert stored == "/media/kept.txt\n\n200"
    push_change(shop["work"], shop["bare"], "release.txt", "second release\n")
    apply(live_dirs, shop["recipe"])
    assert https(box, shop, "/").startswith("Hello from Django. release says: second release.")
    assert https(box, shop, "/media/kept.txt") == "uploaded before the release\n200"

    back = cli(live_dirs, "rollback", str(shop["recipe"]), "--yes", env=ENV)
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
    # it said what it waited for as it went: the gate, the switch, the watch, each stage timed
    assert "· start release" in back.stdout and "the way nginx will" in back.stdout, back.stdout
    assert "watching its health for 5 s" in back.stdout and "stayed healthy for 5 s" in back.stdout
    assert back.stdout.count("· done (") >= 2
    assert https(box, shop, "/").startswith("Hello from Django. release says: first release.")
    assert https(box, shop, "/media/kept.txt") == "uploaded before the release\n200"
    # media is data: one directory outside every release
    found = on_box(box, "find /srv/shop -name kept.txt").stdout.split()
    assert found == ["/srv/shop/shared/media/kept.txt"]


def test_a_release_whose_settings_disagree_is_explained_and_never_goes_live(box, live_dirs, shop) -> None:
    settings = shop["work"] / "shop" / "settings.py"
    good = settings.read_text()
    push_change(shop["work"], shop["bare"], "shop/settings.py", good.replace(
        'ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")', 'ALLOWED_HOSTS = ["localhost"]'))
    live_before = https(box, shop, "/")
    refused = apply(live_dirs, shop["recipe"], ok=False)
    said = "\n".join(notices(refused))
    assert f"ALLOWED_HOSTS lacks {DJANGO_DOMAIN}: Django answers 400 Bad Request to them" in said
    assert 'ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")' in said  # the fix
    assert finished(refused)["ok"] is False
    assert https(box, shop, "/") == live_before  # the live release kept serving

    checked = cli(live_dirs, "check", str(shop["recipe"]), env=ENV)
    assert f"ALLOWED_HOSTS lacks {DJANGO_DOMAIN}" in checked.stdout

    push_change(shop["work"], shop["bare"], "shop/settings.py", good)
    apply(live_dirs, shop["recipe"])
    assert https(box, shop, "/").endswith("\n200")
