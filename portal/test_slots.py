"""Keeps parallel test processes apart (pytest-xdist: gw0, gw1, …).

Each gets its own VAR_DIR (SQLite file, broker folder, rate budgets) and its own Redis
database, so one's workers never take another's messages, locks or budget. Applied to
the environment before the settings read it, so the processes a test starts (Celery
workers, sandboxes) inherit the same; applied once (a started process that keeps
PYTEST_XDIST_WORKER sees it done). Outside xdist nothing changes.
"""

import os
from urllib.parse import urlsplit, urlunsplit

DONE = "PORTAL_TEST_SLOT"


def apply(default_var_dir: str) -> None:
    slot = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not slot or os.environ.get(DONE) == slot:
        return
    os.environ[DONE] = slot
    os.environ["VAR_DIR"] = os.path.join(os.environ.get("VAR_DIR") or default_var_dir, slot)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        parts = urlsplit(redis_url)
        db = int(parts.path.strip("/") or 0) + int(slot.removeprefix("gw"))
        os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{db}"))
