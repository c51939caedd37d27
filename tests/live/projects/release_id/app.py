"""An app that says which release answers: the name of the directory it was imported from (releases/<id>).

Files in the release change how it behaves, so one repository gives the live tests every kind of release:
boot_seconds (an import that takes that long), sick_after_seconds (/health answers 500 once the release has
run that long) and broken (the import fails).
"""

import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RELEASE = HERE.name
if (HERE / "broken").exists():
    raise ImportError("this release is broken on purpose")
if (HERE / "boot_seconds").exists():
    time.sleep(float((HERE / "boot_seconds").read_text()))
STARTED = time.monotonic()
SICK_AFTER = float((HERE / "sick_after_seconds").read_text()) if (HERE / "sick_after_seconds").exists() else None


def app(environ: dict, start_response) -> list[bytes]:
    if environ.get("PATH_INFO") == "/health" and SICK_AFTER is not None and time.monotonic() - STARTED > SICK_AFTER:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [f"{RELEASE} is sick\n".encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{RELEASE}\n".encode()]
