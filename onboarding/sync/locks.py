"""A lock shared by every worker on every host, held while a token is refreshed.

With REDIS_URL it is a Redis lock (redis-py's Lock: SET NX with expiry, so a dead
holder frees it). Embedded mode runs on one host and has no Redis: a process-local lock
then, and at worst two processes each fetch a token once, which every platform allows.
It is deliberately not a database row lock held across the HTTP call: on SQLite that
would hold the whole database's write lock while the (embedded) platform needs it.
"""

import threading
from contextlib import contextmanager
from functools import cache

from django.conf import settings

from providers.errors import TransientError

# A holder that died frees the lock after this (longer than any token call may take);
# a waiter gives up after SYNC_TOKEN_LOCK_WAIT_SECONDS (part of the claim check).
LOCK_TIMEOUT_SECONDS = 60
_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@contextmanager
def shared_lock(name: str):
    if settings.REDIS_URL:
        lock = _redis().lock(
            f"portal:lock:{name}",
            timeout=LOCK_TIMEOUT_SECONDS,
            blocking_timeout=settings.SYNC_TOKEN_LOCK_WAIT_SECONDS,
        )
        if not lock.acquire():
            raise _still_held(name)
        try:
            yield
        finally:
            lock.release()
        return
    with _guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=settings.SYNC_TOKEN_LOCK_WAIT_SECONDS):
        raise _still_held(name)
    try:
        yield
    finally:
        lock.release()


def _still_held(name: str) -> TransientError:
    wait = settings.SYNC_TOKEN_LOCK_WAIT_SECONDS
    return TransientError(
        f"{name}: lock still held after {wait:g} s", request_may_have_arrived=False
    )
