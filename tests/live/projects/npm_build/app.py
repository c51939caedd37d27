"""A project with a front-end build: the page links the script `npm run build` writes into static/."""


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b'<!doctype html><script src="/static/app.js"></script>shape=npm\n']
