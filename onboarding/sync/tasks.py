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


@shared_task(acks_late=True, ignore_result=True)
def sync_record(record_id: int) -> str | None:
    outcome = engine.run(record_id)
    if outcome is None:
        return None
    if outcome.follow_up:
        outbox.enqueue(outcome.follow_up)
    if outcome.retry_in is not None:
        outbox.enqueue([record_id], countdown=outcome.retry_in)
    return outcome.state


def due_records(*, also_queued: bool = False):
    """Rows due now on connected platforms, buildings first.

    The sweep leaves out rows whose message went to the broker recently (a worker will
    get to them); a foreground run (`sync_pending`) takes those too, claims keep the two
    from pushing one row twice.
    """
    disconnected = ProviderConnection.objects.filter(
        status=ProviderConnection.Status.DISCONNECTED
    ).values("provider")
    rows = SyncRecord.objects.filter(engine.claimable(), provider__in=registry.enabled()).exclude(
        provider__in=disconnected
    )
    if not also_queued:
        requeue_before = engine.db_now_plus(-settings.SYNC_REQUEUE_AFTER_SECONDS)
        rows = rows.filter(Q(queued_at__isnull=True) | Q(queued_at__lt=requeue_before))
    return rows.order_by("rank", "not_before")


@shared_task(ignore_result=True)
def sweep() -> int:
    ids = list(due_records().values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return 0
    SyncRecord.objects.filter(pk__in=ids).update(queued_at=Now())
    sent = outbox.enqueue(ids)
    log.info("sweep: %d rows enqueued", sent)
    return sent


@shared_task(ignore_result=True)
def prune_api_calls() -> int:
    cutoff = timezone.now() - timedelta(days=settings.API_CALL_RETENTION_DAYS)
    deleted, _ = ApiCall.objects.filter(started_at__lt=cutoff).delete()
    return deleted
