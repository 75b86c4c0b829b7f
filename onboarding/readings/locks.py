"""Per-device ingest locks: why the forwarding cursor can be a plain reading id.

A forwarding reads a device's readings past its cursor in id order and then moves the
cursor to the last id it sent. That skips nothing only if, for one device, readings
become visible in id order. On PostgreSQL ids come from a sequence at INSERT time but
become visible at COMMIT: two concurrent deliveries for one device could commit 101
before 100, the forwarding could send 101, and 100 would be left behind its cursor.

So every transaction that adds readings for a device first takes that device's lock and
only then inserts: a device's inserts are serialised, its ids are handed out and
committed in the same order, and the forwarding reads its batches without a lock. It
takes the lock only for the instant it goes idle (no reading may commit between its
"nothing left" and its "idle"; see queue.py). The lock
is a transaction-scoped advisory lock (memory only: no row is written, staff editing
the Device never wait for it). Different devices never wait for each other.

SQLite has a single writer (IMMEDIATE transactions): commits are already in id order.
"""

from collections.abc import Iterable

from django.db import connection

# Advisory locks are keyed by (class, object) int4 pairs; this class is ours. A device id
# beyond int4 wraps: two devices sharing a lock then only wait for each other.
LOCK_CLASS = 0x52454144  # "READ"
INT4 = 2**31


def lock_devices(device_ids: Iterable[int]) -> None:
    """Inside a transaction: wait for and hold the ingest locks of these devices until
    it ends. Taken in ascending order, so two deliveries never deadlock."""
    statement = lock_statement(device_ids)
    if statement is None or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(*statement)


def lock_statement(device_ids: Iterable[int]) -> tuple[str, list] | None:
    """The PostgreSQL statement `lock_devices` runs (None: no device)."""
    keys = sorted({(pk % INT4) for pk in device_ids})
    if not keys:
        return None
    return (
        "SELECT pg_advisory_xact_lock(%s, k) "
        "FROM unnest(%s::int4[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
        [LOCK_CLASS, keys],
    )
