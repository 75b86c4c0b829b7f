"""Beat catches up on missed Spark events (SPARK_EVENTS_CATCH_UP_MINUTES)."""

import logging

from celery import shared_task

from providers import registry
from providers.errors import ProviderError

from .catch_up import catch_up as catch_up_events
from .models import WebhookSubscription

log = logging.getLogger(__name__)


@shared_task(name="spark_events.tasks.catch_up", ignore_result=True)
def catch_up() -> str:
    # Events matter to a portal that subscribed to them; without Spark or a subscription
    # there is nothing to have missed.
    if "spark" not in registry.enabled():
        return "Spark is not enabled"
    if not WebhookSubscription.objects.filter(active=True).exists():
        return "no active Spark webhook subscription"
    try:
        return str(catch_up_events())
    except ProviderError as exc:
        log.warning("Spark events catch-up failed: %s", exc.message)
        return f"failed: {exc.message}"
