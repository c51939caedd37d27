"""A project locked with Poetry: the page shows the version of tomli from poetry.lock, and whether the dev group
(pytest-timeout) stayed out of the venv as it should (--only main)."""

from importlib.metadata import PackageNotFoundError, version

import tomli  # noqa: F401  (imported: a missing install fails the worker's boot)


def installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"shape=poetry tomli={installed('tomli')} dev={installed('pytest-timeout')}\n".encode()]
