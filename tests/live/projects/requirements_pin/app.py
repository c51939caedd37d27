"""A project with a requirements file: the page shows the version of iniconfig its requirements pin."""

from importlib.metadata import version

import iniconfig  # noqa: F401  (imported: a missing install fails the worker's boot)


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"shape=requirements iniconfig={version('iniconfig')}\n".encode()]
