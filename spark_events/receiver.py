"""POST /webhooks/spark/: Spark's deliveries, verified, stored once, answered at once.

200 for an event stored now or before (Spark retries anything else 3 times: a replay
must be acknowledged, not refused, or it comes back). 401 without a valid signature,
400 for a body that is not an event; nothing is stored in either case.
"""

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import SparkEvent, WebhookSubscription
from .signature import matching, signatures_of

log = logging.getLogger(__name__)


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@csrf_exempt
@require_POST
def receive(request) -> HttpResponse:
    limit = getattr(settings, "SPARK_WEBHOOK_MAX_BYTES", 1024 * 1024)
    if int(request.headers.get("Content-Length") or 0) > limit:
        return _problem(413, f"body larger than {limit} bytes")
    body = request.body  # the exact bytes: the signature is over them, not over parsed JSON
    given = signatures_of(request.headers)
    if not given:
        return _problem(401, "missing Spark-Signature / X-Payload-Signature header")
    secrets = [
        (s.pk, s.secret) for s in WebhookSubscription.objects.filter(active=True) if s.secret
    ]
    subscription_id = matching(secrets, body, given)
    if subscription_id is None:
        log.warning("Spark webhook: a delivery with a signature no active secret made")
        return _problem(401, "signature does not match any active webhook secret")
    try:
        event = json.loads(body)
    except ValueError:
        return _problem(400, "body is not JSON")
    if not isinstance(event, dict):
        return _problem(400, "body is not a JSON object")
    notification_id = str(event.get("notificationId") or "")
    event_id = str(event.get("eventId") or "")
    key = notification_id or event_id
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
        "subscription_id": subscription_id,
    }
    try:
        with transaction.atomic():
            _, created = SparkEvent.objects.get_or_create(key=key, defaults=fields)
    except IntegrityError:  # the same event arriving twice at the same moment
        created = False
    return JsonResponse({"stored": created, "key": key})
