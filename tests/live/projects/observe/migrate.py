"""A migration that leaves a row naming the release it ran for (the deploy test reads it back)."""

import os
from pathlib import Path

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("create table if not exists migrated (release text primary key, at timestamptz default now())")
    conn.execute("insert into migrated (release) values (%s) on conflict do nothing", (Path.cwd().name,))
print("migrated", Path.cwd().name)
