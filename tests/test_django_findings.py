"""check --deploy's findings as the operator reads them: a secure-cookie warning says what it means on this server
(plain HTTP on a practice server without TLS, HTTPS with the tls step) and how it goes away."""

from __future__ import annotations

from recipes.app_server.django import check_findings, findings, report_fact
from wizard.engine.facts import FactValues, PathInfo
from wizard.engine.step import Context, Later, Warn

W016 = ["security.W016", "You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have "
                         "not set CSRF_COOKIE_SECURE to True."]
W009 = ["security.W009", "Your SECRET_KEY has less than 50 characters."]


def warnings(ctx: Context) -> list[Warn]:
    return [found for found in check_findings(ctx, [W016, W009]) if isinstance(found, Warn)]


def test_on_plain_http_the_csrf_cookie_warning_says_to_leave_it_off_until_tls() -> None:
    csrf, key = warnings(Context(app="shop", user="shop"))
    assert csrf.text.startswith("manage.py check --deploy: (security.W016)")
    assert "This site has no TLS" in csrf.fix and "leave CSRF_COOKIE_SECURE off here" in csrf.fix
    assert "With TLS (the tls step), set CSRF_COOKIE_SECURE = True and the warning goes away" in csrf.fix
    assert key.fix == ""  # only the cookie findings are explained here


def test_behind_tls_it_says_to_set_it() -> None:
    ctx = Context(app="shop", user="shop", others={"tls": object()})
    csrf, _key = warnings(ctx)
    assert "The site is HTTPS (the tls step): set CSRF_COOKIE_SECURE = True" in csrf.fix


def test_a_dry_run_that_makes_the_venv_anew_decides_the_settings_at_run_time() -> None:
    """Found in a new user's trial: with the venv deleted, plan warned that the settings do not load (no python),
    though the same plan makes the venv again; apply read them fine. They are decided at run time instead."""
    ctx = Context(app="shop", user="shop")
    release = "3886b7c0f068"
    fact = report_fact(ctx, release)
    broken = fact.parse("timeout: failed to run command 'python': No such file or directory\n@@DW check\n", 0)
    venv_made = {PathInfo(f"{ctx.venv}/bin/pip").key: object()}
    facts = FactValues({PathInfo(f"{ctx.releases}/{release}").key: object(), fact.key: fact.after(broken, venv_made)})
    found = list(findings(ctx, release, facts))
    assert [type(item) for item in found] == [Later], found
    assert "made or filled by this run first" in found[0].reason
    # the same answer with nothing planned for the venv is the warning it is (apply, check)
    facts = FactValues({PathInfo(f"{ctx.releases}/{release}").key: object(), fact.key: fact.after(broken, {})})
    warned = list(findings(ctx, release, facts))
    assert [type(item) for item in warned] == [Warn] and "do not load" in warned[0].text
