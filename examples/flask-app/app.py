"""A tiny Flask app for deploy-wizard's example recipe: one page that counts visits in PostgreSQL."""

import os

import psycopg
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("insert into visits default values")
        count = conn.execute("select count(*) from visits").fetchone()[0]
    return (
        "<!doctype html><html><head><title>demo</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f"<body><h1>Hello from deploy-wizard</h1><p>visits: {count}</p></body></html>"
    )


@app.get("/health")
def health() -> str:
    return "ok"
