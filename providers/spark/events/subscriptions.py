"""Managing Spark webhook subscriptions: the admin and `spark_webhooks` both call these.

Never made twice. A subscription is kept here before Spark is asked to make it (with the
secret that goes with the request, encrypted). A create that gets no answer is looked for
at once in Spark's list (`GET /webhooks`): a webhook there with our name and URL whose id
we hold nowhere is the one it made. It is adopted, not made again, and its secret is set
to ours (`PATCH`), so its deliveries verify whoever made it. If Spark cannot be read
then, the row waits (without an id), and the next `create` of the same name and URL
looks in the list first and finds it. A create Spark refused leaves nothing here.
"""

import secrets as random_secrets
from contextlib import suppress

from django.db import transaction
from django.utils import timezone

from providers import registry
from providers.errors import NotFoundError, PermanentError, ProviderError, TransientError

from .models import WEBHOOK_STATUSES, WebhookSubscription

# The current API's default (NOTES.md); the guide's form subscribes PriceDelta instead.
DEFAULT_NOTIFICATION_TYPES = ["PriceCurveCreated"]


def client():
    return registry.client("spark")


def generate_secret() -> str:
    return random_secrets.token_urlsafe(32)


def _id_of(webhook: dict) -> str:
    return str(webhook.get("webhookId") or webhook.get("id") or "")


def _url_of(webhook: dict) -> str:
    return str(webhook.get("webhookUrl") or webhook.get("url") or "")


def create(
    url: str, *, secret: str = "", name: str = "", notification_types: list[str] | None = None
) -> WebhookSubscription:
    """Register `url` on Spark with `secret` (a new random one unless the operator holds
    one already, e.g. moving a subscription from another system) and keep it, active."""
    types = list(notification_types or DEFAULT_NOTIFICATION_TYPES)
    waiting = WebhookSubscription.objects.filter(url=url, name=name, webhook_id="").first()
    subscription = waiting or WebhookSubscription(url=url, name=name, active=True)
    subscription.secret = secret or subscription.secret or generate_secret()
    subscription.notification_types = types
    subscription.save()  # before the secret leaves: a lost answer loses nothing here
    spark = client()
    if waiting is not None:  # an earlier create of it got no answer: look first
        found = _made_by_a_lost_create(spark, subscription)
        if found is not None:
            return _adopt(spark, subscription, found)
    try:
        answer = spark.create_webhook(
            url, subscription.secret, name=name, notification_types=types, event_types=None
        )
    except TransientError as exc:
        if not exc.request_may_have_arrived:
            if waiting is None:
                subscription.delete()  # Spark never saw it
            raise
        found = None
        with suppress(ProviderError):
            found = _made_by_a_lost_create(spark, subscription)
        if found is None:
            raise  # it waits here, without an id, for the next create to find it
        return _adopt(spark, subscription, found)
    except PermanentError:
        if waiting is None:
            subscription.delete()  # refused: nothing was made
        raise
    return _keep(subscription, answer)


def _made_by_a_lost_create(spark, subscription: WebhookSubscription) -> dict | None:
    held = set(
        WebhookSubscription.objects.exclude(webhook_id="").values_list("webhook_id", flat=True)
    )
    for webhook in spark.list_webhooks():
        if (
            _id_of(webhook)
            and _id_of(webhook) not in held
            and _url_of(webhook) == subscription.url
            and (webhook.get("name") or "") == subscription.name
        ):
            return webhook
    return None


def _adopt(spark, subscription: WebhookSubscription, webhook: dict) -> WebhookSubscription:
    answer = spark.update_webhook(_id_of(webhook), webhookSecret=subscription.secret)
    return _keep(subscription, {**webhook, **answer})


def _keep(subscription: WebhookSubscription, answer: dict) -> WebhookSubscription:
    subscription.webhook_id = _id_of(answer)
    _read_status(subscription, answer)
    subscription.save()
    return subscription


def _read_status(subscription: WebhookSubscription, webhook: dict) -> None:
    status = webhook.get("status")
    subscription.status = status if status in WEBHOOK_STATUSES else ""
    subscription.status_read_at = timezone.now()


def listed() -> list[dict]:
    """Spark's webhooks beside ours: [{webhookId, url, status, remote, local}] (either
    may be missing: one deleted on Spark by hand, or one registered by another system).
    Ours are given the status Spark reports now."""
    remote = {_id_of(w): w for w in client().list_webhooks()}
    local = {s.webhook_id: s for s in WebhookSubscription.objects.exclude(webhook_id="")}
    rows = []
    for webhook_id in sorted(set(remote) | set(local)):
        theirs, ours = remote.get(webhook_id), local.get(webhook_id)
        if ours and theirs:
            _read_status(ours, theirs)
            ours.save(update_fields=["status", "status_read_at"])
        rows.append(
            {
                "webhookId": webhook_id,
                "url": ours.url if ours else _url_of(theirs),
                "status": (theirs or {}).get("status") or "",
                "remote": theirs,
                "local": ours,
            }
        )
    for waiting in WebhookSubscription.objects.filter(webhook_id=""):
        # A create whose answer never came: the next `create` of it finds it on Spark.
        rows.append(
            {"webhookId": "", "url": waiting.url, "status": "", "remote": None, "local": waiting}
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
