"""The health probe (recipes/shared/health.py) against a real HTTP server on a unix socket, through sh and curl:
the Host header and X-Forwarded-Proto it sends, redirects it follows, and what it counts as healthy."""

from __future__ import annotations

import shutil
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from recipes.shared.health import Probe

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the probe runs curl, which is not installed")


class App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.headers["Host"] != "shop.example.com":
            return self.answer(400, "Bad Request (400): DisallowedHost")
        https = self.headers.get("X-Forwarded-Proto") == "https"
        routes = {
            "/ok": (200, "release abc"),
            "/login-first": (302, "http://shop.example.com/login/"),
            "/login/": (200, "<form>login</form>"),
            "/secure": (200, "secure") if https else (301, "https://shop.example.com/secure"),
            "/away": (302, "https://sso.example.org/"),
            "/boom": (500, "<h1>Server Error</h1>\n<p>KeyError: 'SECRET_KEY'</p>"),
        }
        code, text = routes.get(self.path, (404, "Not Found"))
        self.answer(code, text)

    def answer(self, code: int, text: str) -> None:
        self.send_response(code)
        if 300 <= code < 400:
            self.send_header("Location", text)
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "app.sock")
    server = socketserver.ThreadingUnixStreamServer(path, App)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()


def probe(socket_path: str, path: str, https: bool = False, host: str = "shop.example.com",
          wait: int = 2) -> subprocess.CompletedProcess[str]:
    command = Probe(socket_path, host, path, https, wait).command()
    return subprocess.run(["sh", "-c", command.shell()], capture_output=True, text=True, timeout=60)


def test_a_2xx_with_the_site_host_is_healthy(socket_path: str) -> None:
    result = probe(socket_path, "/ok")
    assert result.returncode == 0 and "/ok answers 200" in result.stdout


def test_the_host_header_is_the_site_name(socket_path: str) -> None:
    result = probe(socket_path, "/ok", host="localhost")
    assert result.returncode == 1 and "answers 400" in result.stdout and "DisallowedHost" in result.stdout


def test_redirects_on_the_site_are_followed(socket_path: str) -> None:
    result = probe(socket_path, "/login-first")
    assert result.returncode == 0 and "/login/ answers 200" in result.stdout


def test_behind_tls_the_app_is_told_https(socket_path: str) -> None:
    assert probe(socket_path, "/secure", https=True).returncode == 0
    plain = probe(socket_path, "/secure", https=False)  # the app redirects to https: followed over the socket
    assert plain.returncode == 1 and "answers 301" in plain.stdout


def test_a_redirect_to_another_site_is_not_healthy(socket_path: str) -> None:
    result = probe(socket_path, "/away")
    assert result.returncode == 1 and "redirect to https://sso.example.org/ (another site)" in result.stdout


def test_a_5xx_fails_with_the_apps_own_words(socket_path: str) -> None:
    result = probe(socket_path, "/boom")
    assert result.returncode == 1 and "/boom answers 500" in result.stdout
    assert "KeyError: 'SECRET_KEY'" in result.stdout and "<p>" not in result.stdout


def test_no_answer_within_the_wait_fails(tmp_path: Path) -> None:
    result = probe(str(tmp_path / "nobody.sock"), "/ok", wait=1)
    assert result.returncode == 1 and "no answer" in result.stdout
