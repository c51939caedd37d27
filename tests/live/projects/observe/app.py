"""The app of tests/live/test_observe.py: known traffic for logs, metrics and alerts, and which release answers.

/health answers 200, /boom 500 (and logs a line carrying the app's database password, which `deploy-wizard
logs` must mask), /slow after 0.4 s, anything else 200 with the release's id (releases/<id>). No dependencies.
"""

import os
import sys
import time
from pathlib import Path

RELEASE = Path(__file__).resolve().parent.name


def app(environ: dict, start_response) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/boom":
        print(f"boom: failing on purpose, connected with {os.environ.get('DATABASE_URL', '-')}", file=sys.stderr,
              flush=True)
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"boom\n"]
    if path == "/slow":
        time.sleep(0.4)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{RELEASE}\n".encode()]
