"""Pulling Climkit meter data into readings, incrementally, one meter at a time.

Per linked meter and series (raw indices for a physical meter, never for a rule or
virtual one, which has none; validated data where CLIMKIT_PULL_VALIDATED is on) a
PullCursor holds the timestamp of the last interval stored. A pull asks Climkit for
what came after it (Climkit answers the periods that end after t_s and by t_e, so
asking from the last stored end neither repeats nor skips one),
in ranges of at most CLIMKIT_PULL_CHUNK_DAYS, and stores each range's readings and moves
the cursor in ONE transaction: a call that fails leaves the cursor at the last interval
stored, and the next pull starts there (no gap), while Reading's uniqueness makes any
overlap harmless (no duplicate).

Every call goes through the client, whose every request takes its turn in the
deployment-wide budget of one request per second (providers/ratelimit.py); nothing here
sleeps or counts on its own.

Empty answers: a range Climkit has nothing for does not move the cursor while it may
still be filled (data arrives late from the meters); one that ended more than
CLIMKIT_PULL_LATE_HOURS ago does, so a meter without data does not cost the same calls
on every run.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from onboarding.models import Device
from providers import registry
from providers.climkit.client import is_physical
from providers.errors import ProviderError, TransientError

from . import series
from .models import PullCursor, Series

log = logging.getLogger(__name__)
SOURCE = "climkit"


@dataclass(frozen=True)
class LinkedMeter:
    site_id: str
    meter_id: str
    medium: str
    # A rule or virtual meter has no raw data (the guide: "nur für physische Zähler
    # verfügbar, nicht für Regelzähler"): only its validated series is pulled.
    physical: bool = True


@dataclass
class PullResult:
    calls: int = 0
    intervals: int = 0  # 15-minute intervals answered (each stored once)
    errors: list[str] = field(default_factory=list)


def linked_meters(meter_id: str | None = None) -> list[LinkedMeter]:
    """Every Climkit meter tied to one of our devices (the catalogue links)."""
    devices = Device.objects.filter(climkit_meter__isnull=False).select_related(
        "climkit_meter__parent"
    )
    if meter_id:
        devices = devices.filter(climkit_meter__remote_id=meter_id)
    meters = []
    for device in devices:
        entry = device.climkit_meter
        site_id = (entry.parent.remote_id if entry.parent else "") or entry.raw.get("site_id", "")
        if site_id:
            physical = entry.raw.get("physical", is_physical(entry.raw))
            meters.append(LinkedMeter(str(site_id), entry.remote_id, entry.medium, physical))
    return meters


def wanted_series(meter: LinkedMeter) -> list[str]:
    kinds = [Series.RAW] if meter.physical else []
    if getattr(settings, "CLIMKIT_PULL_VALIDATED", False):
        kinds.append(Series.VALIDATED)
    return kinds


def store_readings(meter: LinkedMeter, kind: str, items: list[dict]) -> None:
    """Into the readings app (Reading for a linked device, else unmatched), each once."""
    from onboarding.readings.ingest import RemoteReadings, store

    values = series.raw_values if kind == Series.RAW else series.validated_values
    store(
        SOURCE,
        [
            RemoteReadings(meter.meter_id, item["timestamp"], pairs)
            for item in items
            if (pairs := values(item, meter.medium))
        ],
    )


def fetch(client, meter: LinkedMeter, kind: str, start: datetime, end: datetime) -> list[dict]:
    if kind == Series.RAW:
        return client.meter_data_raw(meter.site_id, meter.meter_id, start=start, end=end)
    return client.meter_data(
        meter.site_id, meter.meter_id, start=start, end=end, sampling_frequency="15T"
    )


def _fetch_retrying(client, meter, kind, start, end, retries: int, result: PullResult):
    """One range; a long-running backfill waits out transient failures (a 429 for as
    long as Retry-After says) up to `retries` times; beat's pull just resumes next run."""
    for attempt in range(retries + 1):
        try:
            result.calls += 1
            return fetch(client, meter, kind, start, end)
        except TransientError as exc:
            if attempt == retries:
                raise
            time.sleep(min(exc.retry_after or 2.0**attempt, 60.0))
    raise AssertionError("unreachable")


def cursor_for(meter: LinkedMeter, kind: str) -> PullCursor:
    cursor, _ = PullCursor.objects.get_or_create(
        meter_id=meter.meter_id, series=kind, defaults={"site_id": meter.site_id}
    )
    return cursor


def pull_range(
    client,
    meter: LinkedMeter,
    kind: str,
    start: datetime,
    end: datetime,
    *,
    move_cursor: bool = True,
    progress: Callable[[datetime], None] | None = None,
    result: PullResult | None = None,
    retries: int = 0,
) -> PullResult:
    """Fetch [start, end] in chunks, storing each chunk (and, with move_cursor, moving
    the cursor) in one transaction. A ProviderError stops at the chunk that failed."""
    result = result or PullResult()
    chunk = timedelta(days=settings.CLIMKIT_PULL_CHUNK_DAYS)
    late = timedelta(hours=settings.CLIMKIT_PULL_LATE_HOURS)
    if move_cursor:
        before = cursor_for(meter, kind).last_timestamp
        # A range that starts after the cursor leaves a hole between them: storing it is
        # fine, but the cursor must not jump over the hole (gaps.py shows it meanwhile).
        move_cursor = before is None or start <= before
    at = start
    while at < end:
        upto = min(at + chunk, end)
        items = _fetch_retrying(client, meter, kind, at, upto, retries, result)
        result.intervals += len(items)
        last = series.latest(items)
        with transaction.atomic():
            if items:
                store_readings(meter, kind, items)
            if move_cursor:
                cursor = PullCursor.objects.select_for_update().get(
                    meter_id=meter.meter_id, series=kind
                )
                reached = last or (upto if upto <= timezone.now() - late else None)
                if reached is not None and (
                    cursor.last_timestamp is None or reached > cursor.last_timestamp
                ):
                    cursor.last_timestamp = reached
                cursor.last_pulled_at = timezone.now()
                cursor.last_error = ""
                cursor.intervals_stored += len(items)
                cursor.save()
        if progress:
            progress(upto)
        at = upto
    return result


def pull_meter(client, meter: LinkedMeter, kind: str, result: PullResult, progress=None) -> None:
    cursor = cursor_for(meter, kind)
    now = timezone.now()
    start = cursor.last_timestamp or now - timedelta(days=settings.CLIMKIT_PULL_INITIAL_DAYS)
    try:
        pull_range(client, meter, kind, start, now, result=result, progress=progress)
    except ProviderError as exc:
        message = f"{meter.meter_id} ({kind}): {exc}"
        log.warning("Climkit pull: %s", message)
        result.errors.append(message)
        PullCursor.objects.filter(pk=cursor.pk).update(
            last_error=str(exc)[:2000], last_pulled_at=timezone.now()
        )


def pull_all(client=None, meter_id: str | None = None, progress=None) -> PullResult:
    """Every linked meter, every configured series, from its cursor to now."""
    client = client or registry.client(SOURCE)
    result = PullResult()
    for meter in linked_meters(meter_id):
        for kind in wanted_series(meter):
            pull_meter(client, meter, kind, result, progress)
    return result
