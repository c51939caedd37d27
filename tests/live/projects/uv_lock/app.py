"""A project locked with uv: the page shows the version of iniconfig from uv.lock, and whether the dev group
(pytest-timeout) stayed out of the venv as it should."""

from importlib.metadata import PackageNotFoundError, version

import iniconfig  # noqa: F401  (imported: a missing install fails the worker's boot)


def installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"shape=uv iniconfig={installed('iniconfig')} dev={installed('pytest-timeout')}\n".encode()]
