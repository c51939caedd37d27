"""The example's migration: create the visits table (safe to run again)."""

import os

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("create table if not exists visits (id serial primary key, at timestamptz not null default now())")
print("migrated")
