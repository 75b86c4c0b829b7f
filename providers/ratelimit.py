"""Request budgets shared by every process of a deployment (no Django here).

Climkit allows one request per second, and that is one budget for the whole deployment:
every Celery worker, beat, web process and management command on every host draws from
it, login included. Celery's `rate_limit` is per worker and cannot do this, so the
budget lives where every process can see it, in a pyrate-limiter bucket:

- Redis (`REDIS_URL` set): a `RedisBucket`. Its check-and-insert is one Lua script, but
  the item's time comes from the caller; we take it from Redis's own clock (`TIME`) and
  under a Redis lock, so hosts whose clocks disagree still space their calls correctly
  and a late-stamped item can never slip in behind an earlier one.
- Embedded defaults: a `SQLiteBucket` in a file under `VAR_DIR`, behind a file lock: every
  process of this host shares it (one host is all an embedded deployment has).
- Memory: one process only; for a bare client and tests.

`Budget.acquire()` blocks until the caller may send one request. The wait loop is ours,
not pyrate-limiter's blocking mode: that mode stamps the retried item with the time it
*planned* to wake rather than the time it did, so a late wake-up (a busy host) would be
recorded earlier than the request really left, and the next caller could follow less
than the interval after it. Each of our attempts is stamped afresh, inside the lock.

A caller whose turn would come later than `max_wait` seconds from its first attempt gets
a TransientError at once, so a sync task backs off (in the database) instead of holding a
worker.

The interval is the platform's plus a small safety margin: the limiter spaces the moments
callers are admitted, but the platform sees arrivals, and the time from admission to
arrival (lock release, connection, the network) varies by a few milliseconds between
calls. `margin_ms` absorbs that; 30 ms keeps 97 % of the budget usable.
"""

import logging
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter
from pyrate_limiter import InMemoryBucket, Limiter, Rate, RedisBucket, SQLiteBucket

from .errors import TransientError

log = logging.getLogger(__name__)

DEFAULT_MARGIN_MS = 30
DEFAULT_MAX_WAIT_SECONDS = 30.0
# A waiter sleeps until the slot frees, then tries; a little random spread keeps every
# waiter of every process from hitting the lock in the same millisecond.
_WAKE_SPREAD_SECONDS = 0.003
# How long a Redis lock holder may take before the lock frees itself (a killed process).
_REDIS_LOCK_SECONDS = 5.0

# For /metrics (docs/operations.md): how much of a budget this deployment uses, how long
# callers wait for their turn, and how often one gave up waiting.
ADMISSIONS = Counter(
    "portal_rate_budget_admissions", "Requests a shared budget let through.", ["budget"]
)
WAITED = Counter(
    "portal_rate_budget_wait_seconds", "Seconds callers waited for their turn.", ["budget"]
)
REFUSALS = Counter(
    "portal_rate_budget_refusals",
    "Callers whose turn would have come too late (max_wait): they backed off.",
    ["budget"],
)


@dataclass(frozen=True)
class BudgetSpec:
    """One budget: `requests` calls per `per_seconds`, plus the safety margin."""

    name: str
    requests: int = 1
    per_seconds: float = 1.0
    margin_ms: int = DEFAULT_MARGIN_MS
    max_wait: float = DEFAULT_MAX_WAIT_SECONDS

    @property
    def interval_ms(self) -> int:
        return round(self.per_seconds * 1000) + self.margin_ms


class Budget:
    """A shared budget; `acquire()` is the one thing clients call.

    The backend (bucket, connection, lock) is opened lazily and again in a forked child:
    a Celery prefork worker must not share its parent's SQLite connection or lock.
    """

    backend = "memory"

    def __init__(self, spec: BudgetSpec):
        self.spec = spec
        self._pid: int | None = None
        self._limiter: Limiter | None = None
        self._bucket = None
        self._open_lock = threading.Lock()

    # --- what clients call --------------------------------------------------------------
    def acquire(self) -> float:
        """Wait for this caller's turn; returns the seconds waited.

        Raises TransientError when the turn would come later than `max_wait`, or when
        the budget's store (Redis, the SQLite file) cannot be used: then nothing is sent."""
        try:
            return self._acquire()
        except (OSError, sqlite3.Error, _redis_errors()) as exc:
            raise TransientError(
                f"{self.spec.name}: the shared rate-limit store ({self.backend}) cannot be "
                f"used, so no call is sent: {type(exc).__name__}: {exc}",
                request_may_have_arrived=False,
            ) from exc

    def _acquire(self) -> float:
        limiter, bucket = self._open()
        started = time.monotonic()
        deadline = started + self.spec.max_wait
        while True:
            if limiter.try_acquire(self.spec.name, blocking=False):
                waited = time.monotonic() - started
                ADMISSIONS.labels(self.spec.name).inc()
                WAITED.labels(self.spec.name).inc(waited)
                return waited
            # Refused, or the lock was busy for a moment: when is the next slot free?
            wait = self._seconds_until_free(bucket)
            now = time.monotonic()
            if now + wait > deadline:
                REFUSALS.labels(self.spec.name).inc()
                # Classified as a 429: like the platform's own, it means "not sent, too
                # many requests now", so the outbox repeats it later without a lookup.
                raise TransientError(
                    f"{self.spec.name}: no turn within {self.spec.max_wait:g} s in the shared "
                    f"budget of {self.spec.requests} request(s) per {self.spec.per_seconds:g} s "
                    "(other processes of this deployment are using it); try again later",
                    status=429,
                    retry_after=max(wait, 1.0),
                    request_may_have_arrived=False,
                )
            time.sleep(wait + random.uniform(0, _WAKE_SPREAD_SECONDS))

    # --- inspection (tests, benchmark) --------------------------------------------------
    def latest_admission_ms(self) -> int | None:
        """The newest admission's timestamp, in the bucket's clock (epoch ms)."""
        _, bucket = self._open()
        item = bucket.peek(0)
        return None if item is None else int(item.timestamp)

    def reset(self) -> None:
        """Forget every admission (tests and the benchmark start from an idle budget)."""
        _, bucket = self._open()
        bucket.flush()

    def close(self) -> None:
        with self._open_lock:
            if self._limiter is not None and self._pid == os.getpid():
                self._limiter.close()
            self._limiter = self._bucket = None
            self._pid = None

    # --- internals ----------------------------------------------------------------------
    def _seconds_until_free(self, bucket) -> float:
        newest = bucket.peek(self.spec.requests - 1)
        if newest is None:
            return 0.0
        # pyrate-limiter's sliding window admits once `interval` ms have passed since
        # the entry that blocks, plus 1 ms (its window's lower bound is inclusive).
        free_at = int(newest.timestamp) + self.spec.interval_ms + 1
        return max(0.0, (free_at - int(bucket.now())) / 1000)

    def _open(self):
        pid = os.getpid()
        if self._pid != pid:
            with self._open_lock:
                if self._pid != pid:
                    rates = [Rate(self.spec.requests, self.spec.interval_ms)]
                    self._bucket = self._make_bucket(rates)
                    # Given the bucket itself, Limiter also takes the bucket's own
                    # cross-process lock (file or Redis) around each check-and-insert.
                    self._limiter = Limiter(self._bucket, buffer_ms=0)
                    self._pid = pid
        return self._limiter, self._bucket

    def _make_bucket(self, rates):
        return InMemoryBucket(rates)


class SQLiteBudget(Budget):
    """Every process of one host, through a SQLite file and a file lock beside it."""

    backend = "sqlite"

    def __init__(self, spec: BudgetSpec, path: Path):
        super().__init__(spec)
        self.path = Path(path)

    def _make_bucket(self, rates):
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Polling a busy file lock every 2 ms (its default is 50 ms): a waiter that
        # found the lock busy is back within the millisecond that decides the turn.
        lock = _FileLock(FileLock(f"{self.path}.lock", poll_interval=0.002))
        with lock:
            conn = sqlite3.connect(
                self.path, isolation_level="DEFERRED", check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            table = _table_name(self.spec.name)
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{table}" (name VARCHAR, item_timestamp INTEGER)'
            )
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "idx_{table}_ts" ON "{table}" (item_timestamp)'
            )
            conn.commit()
        return SQLiteBucket(rates, conn, table, lock=lock)


class _FileLock:
    """filelock's FileLock, shaped as pyrate-limiter's LockLike.

    pyrate-limiter asks for a non-blocking attempt with `acquire(False)`, which
    filelock reads as a timeout and refuses (it wants a number); this says it plainly.
    Reentrant, as FileLock is: the bucket takes it again inside the limiter's hold."""

    def __init__(self, lock):
        self._lock = lock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        from filelock import Timeout

        try:
            if not blocking:
                self._lock.acquire(blocking=False)
            else:
                self._lock.acquire(timeout=-1 if timeout is None else timeout)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        self._lock.release()

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


class _RedisClockBucket(RedisBucket):
    """A RedisBucket whose items are stamped with Redis's clock, one clock for all hosts."""

    def now(self):
        seconds, microseconds = self.redis.time()
        return int(seconds) * 1000 + int(microseconds) // 1000

    def limiter_lock(self):
        return self._shared_lock

    @classmethod
    def open(cls, rates, redis, key: str):
        bucket = cls.init(rates, redis, key)
        bucket._shared_lock = _RedisLock(redis, f"{key}:lock")
        return bucket


class _RedisLock:
    """redis-py's lock, shaped as pyrate-limiter's LockLike (acquire(blocking, timeout))."""

    def __init__(self, redis, key: str):
        self._lock = redis.lock(key, timeout=_REDIS_LOCK_SECONDS, sleep=0.002)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking:
            return self._lock.acquire(blocking=False)
        wait = None if timeout is None or timeout < 0 else timeout
        return self._lock.acquire(blocking=True, blocking_timeout=wait)

    def release(self) -> None:
        from redis.exceptions import LockError

        try:
            self._lock.release()
        except LockError:
            # Held longer than its time limit (a stalled process): it has freed itself.
            log.warning("rate-limit lock expired while held")


class RedisBudget(Budget):
    """Every process on every host, through Redis."""

    backend = "redis"

    def __init__(self, spec: BudgetSpec, redis_url: str, key_prefix: str = "ratelimit:"):
        super().__init__(spec)
        self.redis_url = redis_url
        self.key = f"{key_prefix}{spec.name}"

    def _make_bucket(self, rates):
        import redis

        client = redis.Redis.from_url(self.redis_url)
        return _RedisClockBucket.open(rates, client, self.key)


def _redis_errors() -> type[Exception]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - redis is a requirement
        return OSError
    return RedisError


def _table_name(name: str) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in name)
    return f"budget_{safe}"


# One Budget per (backend, place, spec) and process: every client of a process shares it.
_budgets: dict[tuple, Budget] = {}
_budgets_lock = threading.Lock()


def shared_budget(spec: BudgetSpec, *, redis_url: str = "", sqlite_path: Path | None = None):
    """The budget a deployment shares: Redis when configured, else the host's SQLite file,
    else (neither given) this process alone."""
    if redis_url:
        key = ("redis", redis_url, spec)
        factory = lambda: RedisBudget(spec, redis_url)  # noqa: E731
    elif sqlite_path is not None:
        key = ("sqlite", str(sqlite_path), spec)
        factory = lambda: SQLiteBudget(spec, sqlite_path)  # noqa: E731
    else:
        key = ("memory", "", spec)
        factory = lambda: Budget(spec)  # noqa: E731
    with _budgets_lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = factory()
        return budget
