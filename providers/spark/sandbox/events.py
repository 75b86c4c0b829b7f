"""Events the sandbox makes, as the spec's simulation endpoints describe them: stored
(for `GET /events`) and delivered to every enabled webhook subscribed to their type.

- `POST /simulation/events/usereligibility`: a `UserEligibility` event ("does not affect
  the eligibility of any users"); the sandbox names every user it holds as added.
- `POST /simulation/events/pricecurve`: a `PriceCurve` event with the targets, price
  area and price curve given; without targets, every location-bound resource is
  targeted ("simulated resources and locations will be targeted instead if any exist"),
  without a price area NO1, without a curve 24 hourly prices from the next midnight UTC.
"""

from datetime import UTC, datetime, timedelta

from .models import Event, User, UserResource, Webhook
from .webhooks import deliver

# The payload type's notification type (the spec's NotificationType).
NOTIFICATION_TYPES = {
    "UserEligibility": "UserEligibilityUpdated",
    "PriceCurve": "PriceCurveCreated",
    "LocationLPC": "LocationLPCRequested",
    "ResourceLPC": "ResourceLPCRequested",
    "LPCReservation": "LPCReservationCreated",
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def make(payload: dict) -> Event:
    """Store the event, then deliver it (each subscriber's delivery with its retries)."""
    event = Event.objects.create(
        notification_type=NOTIFICATION_TYPES[payload["payloadType"]], payload=payload
    )
    for webhook in Webhook.objects.filter(enabled=True):
        if event.notification_type in webhook.notification_types:
            deliver(webhook, event.notification_type, payload, event=event)
    return event


def user_eligibility() -> Event:
    return make(
        {
            "payloadType": "UserEligibility",
            "lastUpdated": _now(),
            "addedUsers": list(User.objects.values_list("user_id", flat=True)),
            "removedUsers": [],
        }
    )


def price_curve(body: dict) -> Event:
    targets = body.get("targets")
    if targets is None:
        targets = [
            {"resourceId": r.resource_id, "locationId": r.location_id}
            for r in UserResource.objects.exclude(location_id="")
        ]
    return make(
        {
            "payloadType": "PriceCurve",
            "targets": targets,
            "priceCurveDelta": body.get("priceCurveDelta") or _a_day_of_prices(),
            "priceArea": body.get("priceArea") or "NO1",
        }
    )


def _a_day_of_prices() -> dict:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + timedelta(days=1)
    return {
        "points": [
            # Dearer by day, as a day-ahead curve is.
            {"price": 120.0 if 7 <= hour <= 20 else 80.0, "timestamp": _at(start, hour)}
            for hour in range(24)
        ],
        "energyUnit": "kWh",
        "currency": "NOK",
        "resolution": "01:00:00",
    }


def _at(start: datetime, hour: int) -> str:
    return (start + timedelta(hours=hour)).isoformat()
