"""The server's one catch-all site (recipes/nginx/catchall.py): rendered from every app's claim, so either of two
recipes on one server writes the same file, and never an answer (nor a certificate) for an unknown name."""

from __future__ import annotations

import re

from recipes.nginx import catchall
from recipes.nginx.step import NginxSettings, render_site
from recipes.shared.web import cert_dir
from tests.test_step_cases import fact_values
from wizard.app import registry
from wizard.engine.step import Context


def listens(text: str) -> list[str]:
    return re.findall(r"^\s*listen (.+);$", text, re.M)


def test_two_apps_render_the_same_file_from_their_claims() -> None:
    shop = catchall.claim("remove", 80, tls=True)
    blog = catchall.claim("remove", 8080, tls=False)
    seen_by_shop = catchall.render_site(shop, {"blog": blog}, "1.26.3-3")
    seen_by_blog = catchall.render_site(blog, {"shop": shop}, "1.26.3-3")
    assert seen_by_shop == seen_by_blog
    assert listens(seen_by_shop) == ["80 default_server", "[::]:80 default_server", "8080 default_server",
                                     "[::]:8080 default_server", "443 ssl default_server",
                                     "[::]:443 ssl default_server"]
    assert "return 444;" in seen_by_shop and "ssl_reject_handshake on;" in seen_by_shop
    assert "ssl_certificate" not in seen_by_shop  # nothing to show a scanner


def test_https_is_refused_only_where_nginx_can_refuse_a_handshake() -> None:
    mine = catchall.claim("remove", 80, tls=True)
    assert "443" not in catchall.render_site(mine, {}, "1.18.0-6ubuntu14")  # before 1.19.4: no such directive
    assert "443" in catchall.render_site(mine, {}, "1.22.1-9+deb12u1")
    assert "443" not in catchall.render_site(catchall.claim("remove", 80, tls=False), {}, "1.22.1-9")
    # a claim written before this one knew ports names none: it adds nothing, it breaks nothing
    assert listens(catchall.render_site(mine, {"old": {"server_names": ["old.test"]}}, "1.22.1-9"))[:2] == [
        "80 default_server", "[::]:80 default_server"]


def test_the_redirect_to_https_names_the_certificate_never_the_request() -> None:
    settings = NginxSettings(server_names=["shop.example.com", "www.shop.example.com"])
    tls = registry.step("tls").Settings.model_validate({"email": "ops@example.com"})
    ctx = Context(app="shop", user="shop", others={"nginx": settings, "tls": tls},
                  steps={"nginx": registry.step("nginx")})
    facts = fact_values({"files": {f"{cert_dir('shop.example.com')}/fullchain.pem": {"content": "cert"}},
                         "package-version:nginx": "1.22.1-9"})
    site = render_site(ctx, settings, facts)
    assert "return 301 https://shop.example.com$request_uri;" in site
    assert "$host$request_uri" not in site
    assert site.count("server_tokens off;") == 2  # the HTTP and the HTTPS server
