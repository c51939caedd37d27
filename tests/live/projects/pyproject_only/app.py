"""A project with only pyproject.toml: the page shows the version of six, which only its dependencies bring."""

import six


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"shape=pyproject-only six={six.__version__}\n".encode()]
