"""Handing forwardings to Celery: new readings make a device's idle forwardings pending.

`wake` runs in the transaction that adds readings, after it took the devices' locks
(locks.py), and a forwarding goes idle only under the same lock and only if nothing is
past its cursor (forwarding.py, `_go_idle`). So a delivery either finds the forwarding
idle and wakes it, or the forwarding, still busy, sees the delivery's readings before it
may go idle: no reading is stranded behind an idle forwarding. A forwarding already
pending or in flight is left alone, which keeps the broker quiet however often a device
reports: 50 deliveries a second for the same devices publish nothing while their
forwardings are busy, and a delivery that wakes many publishes one message per
ENQUEUE_CHUNK of them, not one each.
"""

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models.functions import Now

from .models import Forwarding

log = logging.getLogger(__name__)
State = Forwarding.State
ENQUEUE_CHUNK = 20  # forwardings per message: a worker runs them one after the other


def wake(device_ids: Iterable[int]) -> list[int]:
    """In the transaction that added the devices' readings: their idle forwardings become
    pending; returns those (to enqueue once it commits)."""
    statement = wake_statement(device_ids)
    if statement is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return [row[0] for row in cursor.fetchall()]


def wake_statement(device_ids: Iterable[int]) -> tuple[str, list] | None:
    """The statement `wake` runs, RETURNING the ids it woke (None: no device)."""
    device_ids = sorted(set(device_ids))
    if not device_ids:
        return None
    table = connection.ops.quote_name(Forwarding._meta.db_table)
    marks = ", ".join(["%s"] * len(device_ids))
    now = "CURRENT_TIMESTAMP"
    if connection.vendor == "sqlite":
        now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
    # One statement, also on a busy device: only the rows that were idle come back.
    sql = (
        f"UPDATE {table} SET state = 'pending', not_before = {now}, queued_at = {now}, "  # noqa: S608
        f"attempts = 0 WHERE device_id IN ({marks}) AND enabled AND state = 'idle' "
        "RETURNING id"
    )
    return sql, device_ids


def wake_and_enqueue(device_ids: Iterable[int]) -> None:
    """`wake` in its own transaction (or the caller's), enqueued once it commits."""
    from .locks import lock_devices

    device_ids = sorted(set(device_ids))
    with transaction.atomic():
        lock_devices(device_ids)
        ids = wake(device_ids)
        if ids:
            transaction.on_commit(lambda: enqueue(ids))


def make_due(rows) -> int:
    """Staff's Retry, or a stranded forwarding: pending and due now, attempts forgotten."""
    return rows.update(
        state=State.PENDING, not_before=Now(), queued_at=Now(), attempts=0, last_error=""
    )


def enqueue(forwarding_ids: list[int], countdown: float | None = None) -> int:
    """Publish them, ENQUEUE_CHUNK per message; if the broker is down, they wait for
    the sweep (queued_at cleared)."""
    from .tasks import forward

    chunks = [
        forwarding_ids[i : i + ENQUEUE_CHUNK] for i in range(0, len(forwarding_ids), ENQUEUE_CHUNK)
    ]
    sent = 0
    try:
        with forward.app.producer_or_acquire() as producer:
            for chunk in chunks:
                forward.apply_async((chunk,), countdown=countdown, producer=producer)
                sent += len(chunk)
    except Exception as exc:  # kombu raises several types; any of them means "not sent"
        unsent = forwarding_ids[sent:]
        log.warning(
            "broker unreachable (%s): %d forwardings wait for the sweep",
            type(exc).__name__,
            len(unsent),
        )
        Forwarding.objects.filter(pk__in=unsent).update(queued_at=None)
    return sent
