"""Deliveries to subscribed webhooks, signed as Spark signs them (NOTES.md).

The signature is Base64(HMAC-SHA256(key = the webhook secret as UTF-8, message = the
exact body bytes sent)), no prefix, no timestamp. The guide names the header
`Spark-Signature`, the current reference `X-Payload-Signature`: the sandbox sends both.
A delivery counts when the receiver answers 200 OK; anything else is retried 3 times
with exponential backoff (Spark's webhook docs). The sandbox's backoff is short (0.2 s,
0.4 s, 0.8 s) because it delivers while the caller waits.

After each delivery the webhook's status (the spec's WebhookStatus) says how it went:
Healthy when it arrived, TimeOut when the receiver never answered in time, Unhealthy
when it answered anything but 200 or could not be reached. It is New until then.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime

import requests
from django.utils import timezone

from providers.sandbox_kit import targets

from .models import Delivery, Webhook

RETRY_DELAYS = (0.2, 0.4, 0.8)
TIMEOUT = (3.0, 5.0)
SIGNATURE_HEADERS = ("Spark-Signature", "X-Payload-Signature")


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def envelope(notification_id: uuid.UUID, notification_type: str, payload: dict, event=None) -> dict:
    """The event envelope of NOTES.md (the spec's EventNotification). A test event is no
    event of Spark's: it gets an eventId of its own and is not listed by GET /events."""
    return {
        "notificationId": str(notification_id),
        "eventId": event.event_id if event else str(uuid.uuid4()),
        "eventCreatedAtUtc": event.created_at.isoformat() if event else _now(),
        "notificationSentUtc": _now(),
        "notificationType": notification_type,
        "payload": payload,
    }


def test_payload(webhook: Webhook) -> tuple[str, dict]:
    """The guide's test event. It names no type for it; the sandbox sends `WebhookTest`,
    so a receiver can tell it from real events and store it all the same."""
    return "WebhookTest", {
        "payloadType": "WebhookTest",
        "webhookId": str(webhook.webhook_id),
        "message": "A test event from the Spark sandbox.",
    }


def deliver(webhook: Webhook, notification_type: str, payload: dict, event=None) -> Delivery:
    delivery = Delivery(webhook=webhook, url=webhook.url, notification_type=notification_type)
    body = json.dumps(
        envelope(delivery.notification_id, notification_type, payload, event),
        separators=(",", ":"),
    ).encode()
    delivery.body = body.decode()
    headers = {"Content-Type": "application/json", "User-Agent": "spark-sandbox-webhooks"}
    if webhook.secret:  # the secret is optional: without one, nothing is signed
        delivery.signature = sign(webhook.secret, body)
        headers.update(dict.fromkeys(SIGNATURE_HEADERS, delivery.signature))
    refused = targets.refusal(webhook.url)
    timed_out = False
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS), start=1):
        if refused:  # subscribed before the rule, or the name resolves elsewhere now
            delivery.status_code, delivery.error = None, f"not delivered: {refused}"[:200]
            break
        time.sleep(delay)
        delivery.attempts = attempt
        try:
            # Redirects are not followed: a delivery goes to the URL subscribed, nowhere else.
            response = requests.post(
                webhook.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as exc:
            delivery.status_code, delivery.error = None, type(exc).__name__
            timed_out = isinstance(exc, requests.Timeout)
            continue
        delivery.status_code, delivery.error, timed_out = response.status_code, "", False
        if response.status_code == 200:
            delivery.delivered = True
            break
    delivery.save()
    status = "Healthy" if delivery.delivered else "TimeOut" if timed_out else "Unhealthy"
    Webhook.objects.filter(pk=webhook.pk).update(status=status, last_analyzed_at=timezone.now())
    return delivery


def delivery_json(delivery: Delivery) -> dict:
    return {
        "notificationId": str(delivery.notification_id),
        "webhookId": str(delivery.webhook.webhook_id) if delivery.webhook_id else None,
        "url": delivery.url,
        "notificationType": delivery.notification_type,
        "attempts": delivery.attempts,
        "statusCode": delivery.status_code,
        "error": delivery.error or None,
        "delivered": delivery.delivered,
        "sentAt": delivery.sent_at.isoformat() if delivery.sent_at else None,
    }
