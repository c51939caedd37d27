"""The jobs the example's RQ worker runs (worker.py). A job answers with the release it ran in: the directory
name of the code the worker imported, so a page shows which release the workers really run."""

import time
from pathlib import Path

RELEASE = Path(__file__).resolve().parent.name


def release_id(seconds: float = 0) -> str:
    """Wait `seconds` (a long job, to watch a worker stop gracefully), then say which release ran it."""
    time.sleep(seconds)
    return RELEASE
