"""The example's RQ worker, for deploy-wizard's workers step (`python worker.py [QUEUE ...]`): the queues named
(default: `default`), on the Redis that REDIS_URL names (the redis step writes it, password included).

Why not `rq worker`: its command line takes the URL as an argument, where `ps` would show the password; here
it comes from the environment, as the web app reads it. TERM asks for a warm shutdown: the job at hand
finishes (or systemd kills it after the worker's stop_timeout)."""

import os
import sys

from redis import Redis
from rq import Worker

if __name__ == "__main__":
    Worker(sys.argv[1:] or ["default"], connection=Redis.from_url(os.environ["REDIS_URL"])).work()
