"""Celery tasks: forward one device's readings to one platform, sweep, attach."""

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now

from onboarding.models import Device, ProviderConnection
from onboarding.sync.engine import db_now_plus
from providers import registry

from . import forwarding, matching, queue, unmatched
from .models import Forwarding, Reading

log = logging.getLogger(__name__)
State = Forwarding.State
SWEEP_BATCH = 5000


# Task names stay those of the top-level app they came from, so messages already queued
# (and beat's schedule) find them after the move.
@shared_task(name="readings.tasks.forward", acks_late=True, ignore_result=True)
def forward(forwarding_ids: list[int] | int) -> list[str | None]:
    """Run each forwarding in turn (a delivery wakes many devices; one message carries
    several of them)."""
    if isinstance(forwarding_ids, int):
        forwarding_ids = [forwarding_ids]
    states = []
    for forwarding_id in forwarding_ids:
        outcome = forwarding.run(forwarding_id)
        states.append(outcome.state if outcome else None)
        if outcome is None:
            continue
        if outcome.retry_in is not None:
            queue.enqueue([forwarding_id], countdown=outcome.retry_in)
        elif outcome.again:
            queue.enqueue([forwarding_id])
    return states


@shared_task(name="readings.tasks.attach_device", acks_late=True, ignore_result=True)
def attach_device(device_id: int) -> int:
    device = Device.objects.filter(pk=device_id).first()
    return matching.attach(device) if device is not None else 0


def stranded():
    """Idle forwardings with readings past their cursor: their delivery's enqueue never
    ran (the process died right after the commit)."""
    newer = Reading.objects.filter(device_id=OuterRef("device_id"), id__gt=OuterRef("cursor"))
    return Forwarding.objects.filter(Exists(newer), state=State.IDLE, enabled=True)


def due():
    """Pending forwardings due now, and claims presumed lost with their worker, on
    enabled and connected platforms; not those whose message went out recently."""
    disconnected = ProviderConnection.objects.filter(
        status=ProviderConnection.Status.DISCONNECTED
    ).values("provider")
    stale = db_now_plus(-settings.SYNC_CLAIM_TIMEOUT_SECONDS)
    requeue_before = db_now_plus(-settings.SYNC_REQUEUE_AFTER_SECONDS)
    claimable = Q(state=State.PENDING, not_before__lte=Now(), claim_token__isnull=True) | Q(
        state__in=[State.PENDING, State.IN_FLIGHT], claimed_at__lt=stale
    )
    return (
        Forwarding.objects.filter(claimable, enabled=True, destination__in=registry.reachable())
        .exclude(destination__in=disconnected)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=requeue_before))
        .order_by("not_before")
    )


@shared_task(name="readings.tasks.prune_unmatched", ignore_result=True)
def prune_unmatched() -> int:
    """Beat: unmatched readings older than READINGS_UNMATCHED_RETENTION_DAYS go."""
    return unmatched.prune()


@shared_task(name="readings.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """Beat, every minute: attach readings whose device is linked by now, wake stranded
    forwardings, enqueue the due ones."""
    attached = matching.attach_all_linked()
    woken = list(stranded().values_list("pk", flat=True)[:SWEEP_BATCH])
    if woken:
        queue.make_due(Forwarding.objects.filter(pk__in=woken, state=State.IDLE))
    ids = list(due().values_list("pk", flat=True)[:SWEEP_BATCH])
    if ids:
        Forwarding.objects.filter(pk__in=ids).update(queued_at=Now())
    sent = queue.enqueue(sorted(set(ids) | set(woken)))
    if sent or attached:
        log.info("readings sweep: %d attached, %d forwardings enqueued", attached, sent)
    return sent
