"""The example's migration: create the visits table (safe to run again).

It needs the app's environment like the app does: run before the env files exist, it fails loudly.
"""

import os

import psycopg

if "GREETING" not in os.environ:
    raise SystemExit("migrate.py: GREETING is not set: the app's env file is missing")
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("create table if not exists visits (id serial primary key, at timestamptz not null default now())")
print("migrated")
