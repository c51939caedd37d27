"""The monitoring step's Prometheus probe (recipes/monitoring/meanings.SCRAPED), run as the server runs it, on this
machine's shell against a targets API served here: which jobs it reports, and that root's Python in it imports
nothing from the directory it runs in."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from recipes.monitoring.meanings import SCRAPED

TARGETS = {"data": {"activeTargets": [
    {"labels": {"job": "node"}, "health": "up"},
    {"labels": {"job": "app"}, "health": "down", "lastError": "connection refused"},
]}}


@pytest.fixture
def prometheus() -> Iterator[str]:
    class Targets(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = json.dumps(TARGETS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Targets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def probe(address: str, *jobs: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", SCRAPED, "sh", address, *jobs], cwd=cwd, capture_output=True, text=True,
                          timeout=30)


def test_each_job_missing_or_down_is_one_line(prometheus, tmp_path) -> None:
    done = probe(prometheus, "node", "app", "postgres", cwd=tmp_path)
    assert done.stdout.splitlines() == ["app down: connection refused", "postgres missing"], done.stderr


def test_a_json_module_in_the_working_directory_is_not_imported(prometheus, tmp_path) -> None:
    """The probe runs as root wherever the login left it: a json.py there must not run (python3 -I)."""
    (tmp_path / "json.py").write_text("import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n")
    done = probe(prometheus, "node", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    assert not (tmp_path / "ran").exists()
