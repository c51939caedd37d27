"""A tiny Flask app for deploy-wizard's example recipe: one page that counts visits in PostgreSQL.

Like a real app it needs its settings from the environment (GREETING from the recipe's app_server.env,
DATABASE_URL from the database step) and refuses to start without them, and it reads a file of its release
at import time (message.txt), so a page shows which release the workers really run.

With the redis and workers steps, /jobs queues a job for the RQ worker (worker.py, tasks.py) and /jobs/<id>
shows its state and result: the release the worker ran it in.
"""

import os
from pathlib import Path

import psycopg
from flask import Flask, request

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


RELEASE = Path(__file__).resolve().parent.name


def _queue():  # imported here: the app runs without Redis too (examples/flask-app.yaml has no redis step)
    from redis import Redis
    from rq import Queue

    return Queue(connection=Redis.from_url(os.environ["REDIS_URL"]))


@app.get("/release")
def release() -> str:
    return RELEASE


@app.post("/jobs")
def enqueue() -> str:
    """Queue a job that answers with the worker's release, after ?sleep=SECONDS."""
    seconds = float(request.args.get("sleep", "0"))
    return _queue().enqueue("tasks.release_id", seconds, job_timeout=3600).id


@app.get("/jobs/<job_id>")
def job(job_id: str) -> str:
    from rq.job import Job

    found = Job.fetch(job_id, connection=_queue().connection)
    status = found.get_status()
    return f"{getattr(status, 'value', status)} {found.return_value() or ''}".strip()
