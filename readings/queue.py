"""Handing forwardings to Celery: new readings make a device's idle forwardings pending.

A forwarding already pending or in flight is left alone: its run reads everything past
its cursor and goes idle only when nothing is left (forwarding.py, `_go_idle`, checks
that in the same UPDATE), so readings committed meanwhile are never stranded. One
message per idle → pending change keeps the broker quiet however often a device
reports: 50 deliveries a second for the same devices publish nothing while their
forwardings are busy.
"""

import logging
from collections.abc import Iterable

from django.db import connection
from django.db.models.functions import Now

from .models import Forwarding

log = logging.getLogger(__name__)
State = Forwarding.State


def mark_pending(device_ids: Iterable[int]) -> list[int]:
    """Call after the readings committed: their devices' idle forwardings become pending
    and are enqueued. Returns the forwardings enqueued."""
    device_ids = sorted(set(device_ids))
    if not device_ids:
        return []
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
    with connection.cursor() as cursor:
        cursor.execute(sql, device_ids)
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        enqueue(ids)
    return ids


def make_due(rows) -> int:
    """Staff's Retry, or a new destination: pending and due now, attempts forgotten."""
    return rows.update(
        state=State.PENDING, not_before=Now(), queued_at=Now(), attempts=0, last_error=""
    )


def enqueue(forwarding_ids: list[int], countdown: float | None = None) -> int:
    """One task per forwarding; if the broker is down they wait for the sweep."""
    from .tasks import forward

    sent = 0
    try:
        with forward.app.producer_or_acquire() as producer:
            for forwarding_id in forwarding_ids:
                forward.apply_async((forwarding_id,), countdown=countdown, producer=producer)
                sent += 1
    except Exception as exc:  # kombu raises several types; any of them means "not sent"
        unsent = forwarding_ids[sent:]
        log.warning(
            "broker unreachable (%s): %d forwardings wait for the sweep",
            type(exc).__name__,
            len(unsent),
        )
        Forwarding.objects.filter(pk__in=unsent).update(queued_at=None)
    return sent
