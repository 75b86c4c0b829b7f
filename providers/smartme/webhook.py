"""smart-me's real-time webhook: `POST /webhooks/smartme/<secret>/`.

The secret in the path is the only credential smart-me's webhook can carry (the guide
configures a URL, nothing else), so it is compared in constant time and a wrong one is a
plain 404: the URL does not exist for anyone who does not know it. The body is decoded
in full before anything is stored (providers/smartme/realtime.py): a bad one is a 400
with the reason and leaves nothing behind. The answer comes as soon as the readings are
committed; forwarding them to the platforms is the workers' job.

Units: the webhook's values are milli-units (the guide decodes its example as
"1879583.2 mWh = 1879.5832 Wh"; power in mW, NOTES.md), so each is converted here to
the stored unit of its OBIS code's quantity (kWh, kW, ...; onboarding/readings/units.py)
before it is stored: the guide's 1-0:1.8.0*255 = 1879583.2 is stored as 1.8795832 kWh.
The guide names only energy and power; that its other values (voltage, current,
volume) are milli-units too is our reading of "milli-units" (NOTES.md), and a code we do
not recognise is stored as sent, without a unit.
"""

import hashlib
import hmac
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponseNotFound, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from onboarding.readings.ingest import RemoteReadings, store
from onboarding.readings.models import Source
from onboarding.readings.units import from_milli

from . import realtime

log = logging.getLogger(__name__)


def _secret_matches(given: str) -> bool:
    expected = settings.SMARTME_WEBHOOK_SECRET
    if not expected:
        return False  # no secret configured: the webhook is off
    # Digests of both, so not even the secret's length leaks through the timing.
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def bad_request(reason: str) -> JsonResponse:
    return JsonResponse({"detail": reason}, status=400)


def _read_body(request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (checked before reading it)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def stored_values(item: realtime.DeviceData) -> tuple[tuple[str, float, str], ...]:
    """The item's milli-unit values in our stored units, each with its unit."""
    return tuple((code, *from_milli(code, value)) for code, value in item.values)


@csrf_exempt
def smartme(request, secret: str):
    if not _secret_matches(secret):
        return HttpResponseNotFound()
    if request.method != "POST":
        return JsonResponse({"detail": "POST a protobuf DeviceDataArray."}, status=405,
                            headers={"Allow": "POST"})  # fmt: skip
    limit = settings.SMARTME_WEBHOOK_MAX_BYTES
    body = _read_body(request, limit)
    if body is None:
        return bad_request(f"body larger than {limit} bytes")
    try:
        items = realtime.decode(
            body,
            now=timezone.now(),
            local_zone=ZoneInfo(settings.SMARTME_WEBHOOK_LOCAL_TIME_ZONE),
            max_future=timedelta(seconds=settings.SMARTME_WEBHOOK_MAX_FUTURE_SECONDS),
        )
    except realtime.PayloadError as exc:
        log.info("smart-me webhook: refused a %d-byte body: %s", len(body), exc)
        return bad_request(str(exc))
    stored = store(
        Source.SMARTME,
        (RemoteReadings(item.device_id, item.timestamp, stored_values(item)) for item in items),
    )
    return JsonResponse(
        {
            "devices": len(items),
            "readings": stored.matched,
            "unmatched": stored.unmatched,
            "dropped": stored.dropped,  # of devices not in the smart-me catalogue
        }
    )
