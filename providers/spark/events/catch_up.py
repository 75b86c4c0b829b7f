"""After downtime: the events whose deliveries we missed, from `GET /events`.

Spark retries a failed delivery 3 times and then gives up (NOTES.md); its `GET /events`
(spec: "Get all events, ordered by the most recent events first", paged) still has
them. A run reads pages, newest first, storing each event once under its eventId (as the
receiver stores a delivery, so an event that came both ways is one row), until it reaches
events older than the last complete run's newest (less a margin, for events Spark lists
a little late), or the list ends, or SPARK_EVENTS_CATCH_UP_PAGES pages were read.

Only a run that got that far moves the cursor (`EventCatchUp.caught_up_to`): a run cut
short by an error, or by the page limit, leaves it, and the next run reads the same
pages again (storing nothing twice). The first run reaches back to the oldest active
subscription's creation: events before we subscribed were never ours to miss.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from providers import registry
from providers.errors import ProviderError

from .models import EventCatchUp, SparkEvent, WebhookSubscription
from .receiver import store_once

PAGE_SIZE = 100
# Events created this long before the cursor are read again, for events Spark lists late.
OVERLAP = timedelta(minutes=10)


@dataclass
class CatchUp:
    pages: int = 0
    fetched: int = 0
    stored: int = 0
    complete: bool = False

    def __str__(self):
        done = "caught up" if self.complete else "not yet caught up (the next run goes on)"
        return f"{self.stored} new of {self.fetched} events on {self.pages} page(s); {done}"


def _created_at(event: dict) -> datetime | None:
    value = event.get("createdAt")
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _store(event: dict) -> bool:
    key = str(event.get("id") or "")
    if not key or len(key) > 200:
        return False
    payload = event.get("payload")
    return store_once(
        key,
        {
            "event_id": key,
            "event_created_at": str(event.get("createdAt") or "")[:60],
            "payload": payload if isinstance(payload, dict | list) else {},
            "body": json.dumps(event, ensure_ascii=False),
            "source": SparkEvent.Source.CATCH_UP,
        },
    )


def _horizon(state: EventCatchUp) -> datetime | None:
    if state.caught_up_to is not None:
        return state.caught_up_to - OVERLAP
    first = WebhookSubscription.objects.filter(active=True).aggregate(Min("created_at"))
    since = first["created_at__min"]
    return since - OVERLAP if since else None


def catch_up(client=None, *, max_pages: int | None = None, page_size: int = PAGE_SIZE) -> CatchUp:
    """Store the events missed since the last complete run; raises the client's typed
    error (after noting it) when Spark cannot be read."""
    client = client or registry.client("spark")
    max_pages = max_pages or settings.SPARK_EVENTS_CATCH_UP_PAGES
    state, _ = EventCatchUp.objects.get_or_create(pk=1)
    horizon = _horizon(state)
    result = CatchUp()
    newest = state.caught_up_to
    try:
        while result.pages < max_pages:
            events, pagination = client.list_events(result.pages + 1, page_size)
            result.pages += 1
            created = [_created_at(e) for e in events]
            for event in events:
                result.fetched += 1
                result.stored += _store(event)
            known = [c for c in created if c is not None]
            if known and (newest is None or max(known) > newest):
                newest = max(known)
            total = int(pagination.get("totalPages") or 0)
            reached = horizon is not None and any(c < horizon for c in known)
            if not events or reached or result.pages >= total:
                result.complete = True
                break
    except ProviderError as exc:
        _note(state, result, f"GET /events failed: {exc.message}")
        raise
    if result.complete and newest is not None:
        state.caught_up_to = newest
    _note(state, result, "")
    return result


def _note(state: EventCatchUp, result: CatchUp, error: str) -> None:
    state.last_run_at = timezone.now()
    state.last_stored = result.stored
    state.last_error = error
    state.save()
