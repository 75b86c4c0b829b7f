"""Managing Spark webhook subscriptions: the admin and `spark_webhooks` both call these.

Spark is told first; our row changes only after it answered, so a subscription we hold is
one Spark holds (a failed call raises the client's typed error and changes nothing here).
"""

import secrets as random_secrets
from contextlib import suppress

from django.db import transaction

from providers import registry
from providers.errors import NotFoundError

from .models import WebhookSubscription

# The current API's default (NOTES.md); the guide's form subscribes PriceDelta instead.
DEFAULT_NOTIFICATION_TYPES = ["PriceCurveCreated"]


def client():
    return registry.client("spark")


def generate_secret() -> str:
    return random_secrets.token_urlsafe(32)


def create(
    url: str, *, secret: str = "", name: str = "", notification_types: list[str] | None = None
) -> WebhookSubscription:
    """Register `url` on Spark with `secret` (a new random one unless the operator holds
    one already, e.g. moving a subscription from another system) and keep it, active."""
    secret = secret or generate_secret()
    types = list(notification_types or DEFAULT_NOTIFICATION_TYPES)
    answer = client().create_webhook(
        url, secret, name=name, notification_types=types, event_types=None
    )
    return WebhookSubscription.objects.create(
        name=name,
        url=url,
        secret=secret,
        notification_types=types,
        webhook_id=str(answer["webhookId"]),
        active=True,
    )


def listed() -> list[dict]:
    """Spark's webhooks beside ours: [{webhookId, url, remote, local}] (either may be
    missing: one deleted on Spark by hand, or one registered by another system)."""
    remote = {str(w.get("webhookId") or w.get("id")): w for w in client().list_webhooks()}
    local = {s.webhook_id: s for s in WebhookSubscription.objects.all()}
    rows = []
    for webhook_id in sorted(set(remote) | set(local)):
        theirs, ours = remote.get(webhook_id), local.get(webhook_id)
        rows.append(
            {
                "webhookId": webhook_id,
                "url": (ours.url if ours else (theirs.get("webhookUrl") or theirs.get("url"))),
                "remote": theirs,
                "local": ours,
            }
        )
    return rows


def find(webhook_id_or_pk: str) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(webhook_id=webhook_id_or_pk).first()
    if subscription is None and str(webhook_id_or_pk).isdigit():
        subscription = WebhookSubscription.objects.filter(pk=int(webhook_id_or_pk)).first()
    if subscription is None:
        raise WebhookSubscription.DoesNotExist(f"no subscription {webhook_id_or_pk}")
    return subscription


def delete(subscription: WebhookSubscription) -> None:
    """Unsubscribe on Spark, then forget it (its secret stops verifying). Already gone on
    Spark counts as done."""
    if subscription.webhook_id:
        with suppress(NotFoundError):
            client().delete_webhook(subscription.webhook_id)
    with transaction.atomic():
        subscription.delete()


def send_test(subscription: WebhookSubscription) -> dict:
    """Ask Spark to deliver a signed test event to the subscription's URL now."""
    if not subscription.webhook_id:
        raise ValueError(f"{subscription} is not registered on Spark")
    return client().test_webhook(subscription.webhook_id)
