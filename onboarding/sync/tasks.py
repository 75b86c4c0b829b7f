"""Celery tasks: push one row, sweep for due and stale rows, prune the call log."""

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from onboarding.operations import heartbeats
from providers import registry

from . import engine, outbox
from .models import ApiCall, ProviderConnection, SyncRecord

log = logging.getLogger(__name__)
SWEEP_BATCH = 5000


@task_prerun.connect
@task_postrun.connect
def _tidy_connections(**kwargs) -> None:
    """Each task is like a request: drop a connection that is broken or past
    CONN_MAX_AGE, keep a healthy one (see CELERY_DB_REUSE_MAX in settings)."""
    close_old_connections()


# A row's few follow-ups (a unit's device and invite, a tenant's meter) are pushed by the
# same task, right after it: a message each would cost more than the push itself (publish,
# deliver, trace, ack). More than this many (a building's units) go to the broker, so
# every worker shares them. A follow-up not reached (the worker died) was marked queued
# by its parent's push: the sweep sends it again, as for a lost message.
INLINE_FOLLOW_UPS = 2


@shared_task(acks_late=True, ignore_result=True)
def sync_records(record_ids: list[int]) -> str | None:
    """Push the rows one after the other (outbox.enqueue puts several in one message
    only when there are many to share out), with the few follow-ups each makes ready."""
    return _push(list(record_ids))


@shared_task(acks_late=True, ignore_result=True)
def sync_record(record_id: int) -> str | None:
    """One row: the message of portals before sync_records, still in a broker during
    an upgrade."""
    return _push([record_id])


def _push(record_ids: list[int]) -> str | None:
    """The message's rows are claimed together (one statement) and their objects read
    together (one query per kind); a row's few follow-ups likewise when it has made them
    ready. A row claimed here waits for the ones before it: if this worker dies, its
    claim goes stale (SYNC_CLAIM_TIMEOUT_SECONDS) and the sweep sends it again."""
    first = None
    todo = engine.claim_rows(record_ids)
    while todo:
        current = todo.pop(0)
        outcome = engine.push(current)
        if outcome is None:
            continue
        first = first or outcome.state
        if len(outcome.follow_up) > INLINE_FOLLOW_UPS:
            outbox.enqueue(outcome.follow_up)
        elif outcome.follow_up:
            todo += engine.claim_rows(outcome.follow_up)
        if outcome.retry_in is not None:
            outbox.enqueue([current.record.pk], countdown=outcome.retry_in)
    return first


def due_records(*, also_queued: bool = False):
    """Rows due now on connected platforms, buildings first.

    The sweep leaves out rows whose message went to the broker recently (a worker will
    get to them); a foreground run (`sync_pending`) takes those too, claims keep the two
    from pushing one row twice.
    """
    disconnected = ProviderConnection.objects.filter(
        status=ProviderConnection.Status.DISCONNECTED
    ).values("provider")
    rows = SyncRecord.objects.filter(engine.claimable(), provider__in=registry.reachable()).exclude(
        provider__in=disconnected
    )
    if not also_queued:
        requeue_before = engine.db_now_plus(-settings.SYNC_REQUEUE_AFTER_SECONDS)
        rows = rows.filter(Q(queued_at__isnull=True) | Q(queued_at__lt=requeue_before))
    return rows.order_by("rank", "not_before")


@shared_task(ignore_result=True)
def sweep() -> int:
    heartbeats.beat(heartbeats.SWEEP, throttle=0)  # /readyz: beat is alive
    due = list(due_records().values_list("pk", "provider")[:SWEEP_BATCH])
    if not due:
        return 0
    # Each platform's rows together (in their order): a message holds rows of one
    # platform, so a slow platform's rows never hold up another's.
    ids = [pk for pk, _ in sorted(due, key=lambda row: row[1])]
    SyncRecord.objects.filter(pk__in=ids).update(queued_at=Now())
    sent = outbox.enqueue(ids)
    log.info("sweep: %d rows enqueued", sent)
    return sent


@shared_task(ignore_result=True)
def prune_api_calls() -> int:
    cutoff = timezone.now() - timedelta(days=settings.API_CALL_RETENTION_DAYS)
    deleted, _ = ApiCall.objects.filter(started_at__lt=cutoff).delete()
    return deleted
