"""POST /webhooks/spark/: Spark's deliveries, verified, stored once, answered at once.

Stored under the event's eventId (its notificationId without one). 200 for an event
stored now or before (Spark retries anything else 3 times: a replay must be
acknowledged, not refused, or it comes back). 401 without a valid signature, 400 for a
body that is not an event; nothing is stored in either case.
"""

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from onboarding.fields import UNREADABLE, stored, try_decrypt

from .models import SparkEvent, WebhookSubscription
from .signature import matching, signatures_of

log = logging.getLogger(__name__)


# An event's payload is a few levels deep; the database stores JSON of bounded depth.
MAX_DEPTH = 32


def _depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _active_secrets() -> tuple[list[tuple[int, str]], list[int]]:
    """(pk, secret) of every active subscription, and the pks whose secret no key of
    FIELD_ENCRYPTION_KEY decrypts (one such row must not stop the others)."""
    secrets, unreadable = [], []
    for pk, value in stored(WebhookSubscription.objects.filter(active=True), "secret"):
        secret = try_decrypt(value)
        if secret is None:
            unreadable.append(pk)
        elif secret:
            secrets.append((pk, secret))
    return secrets, unreadable


@csrf_exempt
@require_POST
def receive(request) -> HttpResponse:
    limit = getattr(settings, "SPARK_WEBHOOK_MAX_BYTES", 1024 * 1024)
    declared = request.headers.get("Content-Length") or "0"
    if not (declared.isascii() and declared.isdigit()):
        return _problem(400, "Content-Length is not a number")
    if int(declared) > limit:
        return _problem(413, f"body larger than {limit} bytes")
    body = request.body  # the exact bytes: the signature is over them, not over parsed JSON
    given = signatures_of(request.headers)
    if not given:
        return _problem(401, "missing Spark-Signature / X-Payload-Signature header")
    secrets, unreadable = _active_secrets()
    subscription_id = matching(secrets, body, given)
    if subscription_id is None and unreadable:
        # Not the sender's fault: ours, and Spark retries; say so instead of a 500.
        log.error("Spark webhook: the secret of subscription(s) %s %s", unreadable, UNREADABLE)
        return _problem(
            503,
            "the portal cannot check this signature: a webhook secret " + UNREADABLE,
        )
    if subscription_id is None:
        log.warning("Spark webhook: a delivery with a signature no active secret made")
        return _problem(401, "signature does not match any active webhook secret")
    try:
        event = json.loads(body)
    except ValueError:
        return _problem(400, "body is not JSON")
    except RecursionError:  # signed, but nested deeper than Python parses
        return _problem(400, "body is nested too deeply")
    if _depth(event) > MAX_DEPTH:
        return _problem(400, f"body is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(event, dict):
        return _problem(400, "body is not a JSON object")
    notification_id = str(event.get("notificationId") or "")
    event_id = str(event.get("eventId") or "")
    # One event, one row: every notification of it (to each subscription, each retry)
    # and GET /events (catch_up.py) name the same eventId.
    key = event_id or notification_id
    if not key or len(key) > 200:
        return _problem(400, "event has neither notificationId nor eventId")
    payload = event.get("payload")
    fields = {
        "notification_id": notification_id[:200],
        "event_id": event_id[:200],
        "notification_type": str(event.get("notificationType") or "")[:100],
        "event_created_at": str(event.get("eventCreatedAtUtc") or "")[:60],
        "payload": payload if isinstance(payload, dict | list) else {},
        "body": body.decode("utf-8", "replace"),
        "source": SparkEvent.Source.DELIVERY,
        "subscription_id": subscription_id,
    }
    created = store_once(key, fields)
    return JsonResponse({"stored": created, "key": key})


def store_once(key: str, fields: dict) -> bool:
    """Store an event under `key` unless it is there already; True when stored now."""
    try:
        with transaction.atomic():
            _, created = SparkEvent.objects.get_or_create(key=key, defaults=fields)
    except IntegrityError:  # the same event arriving twice at the same moment
        created = False
    return created
