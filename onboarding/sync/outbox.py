"""Marking rows pending (inside the caller's transaction) and handing them to Celery.

Only rows that can go now are enqueued: a unit whose building has no remote id yet is
enqueued by the building's own sync once it succeeds, so importing ten thousand units
publishes one message, not ten thousand that would only wait.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone, translation

from providers import registry

from .models import SyncRecord

log = logging.getLogger(__name__)
State = SyncRecord.State
DUE_AT_ONCE_MARGIN = timedelta(minutes=10)


def mark_pending(objects: Iterable) -> list[int]:
    """Mark the objects' rows pending on every enabled platform that takes them.

    Call inside the transaction that changed the objects; the rows that can go now are
    enqueued once it commits. Returns the ids of every row marked.
    """
    by_model = defaultdict(list)
    for obj in objects:
        by_model[type(obj)].append(obj)
    marked: list[int] = []
    ready: list[int] = []
    for model, objs in by_model.items():
        for provider in registry.providers_for(model):
            rows = _upsert_rows(model, objs, provider)
            marked += rows.values()
            ready += _ready(rows, objs, provider)
    if ready:
        transaction.on_commit(lambda: enqueue(ready))
    return marked


def _upsert_rows(model, objs: list, provider: str) -> dict[int, int]:
    """{object pk: row pk}, creating the rows that do not exist yet."""
    handler = registry.handler(provider, model)
    content_type = ContentType.objects.get_for_model(model)
    # Due at once whatever this host's clock says: a host running ahead of the
    # database would otherwise create rows that look due only later.
    now = timezone.now() - DUE_AT_ONCE_MARGIN
    existing = dict(
        SyncRecord.objects.filter(
            content_type=content_type, provider=provider, object_id__in=[o.pk for o in objs]
        ).values_list("object_id", "pk")
    )
    with translation.override("en"):  # kept in English, like the outbox's other words
        names = {obj.pk: str(obj)[:300] for obj in objs if obj.pk not in existing}
    created = SyncRecord.objects.bulk_create(
        [
            SyncRecord(
                content_type=content_type,
                object_id=obj.pk,
                provider=provider,
                rank=handler.rank(obj),
                not_before=now,
                queued_at=now,
                object_repr=names[obj.pk],
            )
            for obj in objs
            if obj.pk not in existing
        ],
        batch_size=500,
    )
    if existing:
        make_due(
            SyncRecord.objects.filter(pk__in=existing.values()),
            operation=SyncRecord.Operation.UPSERT,
        )
    return existing | {row.object_id: row.pk for row in created}


def _ready(rows: dict[int, int], objs: list, provider: str) -> list[int]:
    """The rows whose parent (building, space) already exists on the platform."""
    handler = registry.handler(provider, type(objs[0]))
    parents = {obj.pk: handler.parent(obj) for obj in objs}
    parent_pks_by_model = defaultdict(set)
    for parent in parents.values():
        if parent is not None:
            parent_pks_by_model[type(parent)].add(parent.pk)
    on_platform = set()
    for parent_model, pks in parent_pks_by_model.items():
        content_type = ContentType.objects.get_for_model(parent_model)
        on_platform |= {
            (parent_model, pk)
            for pk in SyncRecord.objects.filter(
                content_type=content_type, provider=provider, object_id__in=pks
            )
            .exclude(remote_id="")
            .values_list("object_id", flat=True)
        }
    ready, waiting = [], []
    for obj_pk, row_pk in rows.items():
        parent = parents[obj_pk]
        if parent is None or (type(parent), parent.pk) in on_platform:
            ready.append(row_pk)
        else:
            waiting.append(row_pk)
    if waiting:
        # Not in the broker: the parent's sync hands them over; the sweep is the net.
        SyncRecord.objects.filter(pk__in=waiting).update(queued_at=None)
    return ready


def make_due(rows, **changes) -> int:
    """Make the rows pending and due now (on the database's clock), their attempts, last
    error and any "accepted as is" cleared; the caller enqueues them once its transaction
    commits."""
    return rows.update(
        state=State.PENDING,
        not_before=Now(),
        queued_at=Now(),
        attempts=0,
        last_error="",
        waiting_for_parent=False,
        dismissed_at=None,
        dismissed_by="",
        **changes,
    )


# A message costs a worker about as much CPU as the push it carries (publish, deliver,
# hand to a pool process, trace, ack). So when many rows go at once (an import, the
# sweep) a message carries several, while still making at least SHARED_OUT messages for
# every worker process on every host to take a share of; a few rows (a wizard's save)
# go one a message, pushed side by side.
SHARED_OUT = 64
MAX_ROWS_PER_MESSAGE = 10


def rows_per_message(count: int) -> int:
    return max(1, min(MAX_ROWS_PER_MESSAGE, count // SHARED_OUT))


def enqueue(record_ids: list[int], countdown: float | None = None) -> int:
    """Publish the rows (several to a message when there are many, in their order); if
    the broker is down, leave them to the sweep. Returns how many rows were sent."""
    from .tasks import sync_records

    size = rows_per_message(len(record_ids))
    sent = 0
    try:
        with sync_records.app.producer_or_acquire() as producer:
            for start in range(0, len(record_ids), size):
                chunk = record_ids[start : start + size]
                sync_records.apply_async((chunk,), countdown=countdown, producer=producer)
                sent += len(chunk)
    except Exception as exc:  # kombu raises several types; any of them means "not sent"
        unsent = record_ids[sent:]
        log.warning(
            "broker unreachable (%s): %d sync rows wait for the sweep",
            type(exc).__name__,
            len(unsent),
        )
        SyncRecord.objects.filter(pk__in=unsent).update(queued_at=None)
    return sent
