"""A tiny Flask app for deploy-wizard's example recipe: one page that counts visits in PostgreSQL.

Like a real app it needs its settings from the environment (GREETING from the recipe's app_server.env,
DATABASE_URL from the database step) and refuses to start without them, and it reads a file of its release
at import time (message.txt), so a page shows which release the workers really run.
"""

import os
from pathlib import Path

import psycopg
from flask import Flask

GREETING = os.environ["GREETING"]  # a settings module that requires its env: KeyError without the env file
MESSAGE = (Path(__file__).parent / "message.txt").read_text().strip()

app = Flask(__name__)


@app.get("/")
def index() -> str:
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("insert into visits default values")
        count = conn.execute("select count(*) from visits").fetchone()[0]
    return (
        "<!doctype html><html><head><title>demo</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f"<body><h1>{GREETING}</h1><p>release says: {MESSAGE}</p><p>visits: {count}</p></body></html>"
    )


@app.get("/health")
def health() -> str:
    return f"ok: {MESSAGE}"
