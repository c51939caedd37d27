"""A migration that takes a few seconds and leaves a row naming the release it ran for."""

import os
import time
from pathlib import Path

import psycopg

time.sleep(3)
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("create table if not exists migrated (release text primary key, at timestamptz default now())")
    conn.execute("insert into migrated (release) values (%s) on conflict do nothing", (Path.cwd().name,))
print("migrated", Path.cwd().name)
