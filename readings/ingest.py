"""Storing readings from any source: all of a delivery or nothing, each reading once.

A delivery's readings for linked devices go into Reading, the others into
UnmatchedReading, in one transaction; a reading already stored (same device or remote
device, OBIS code and time) is skipped by the database (ON CONFLICT DO NOTHING), so a
repeated delivery changes nothing. Once it commits, the devices' forwardings are
enqueued; nothing is sent to any platform from here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .locks import lock_devices
from .matching import devices_for
from .models import Reading, UnmatchedReading
from .queue import mark_pending


@dataclass(frozen=True)
class RemoteReadings:
    """One remote device's values at one instant, as a source delivers them."""

    remote_id: str
    timestamp: datetime
    values: tuple[tuple[str, float], ...]  # (OBIS code, value)


@dataclass
class Stored:
    matched: int = 0  # readings offered for linked devices (new or already stored)
    unmatched: int = 0  # readings offered for remote devices not linked yet
    devices: int = 0  # linked devices in the delivery


def store(source: str, deliveries: Iterable[RemoteReadings]) -> Stored:
    deliveries = list(deliveries)
    received_at = timezone.now()
    device_of = devices_for(source, {d.remote_id for d in deliveries})
    readings, unmatched = [], []
    for delivery in deliveries:
        device_id = device_of.get(delivery.remote_id)
        for obis, value in delivery.values:
            if device_id is not None:
                readings.append(
                    Reading(
                        device_id=device_id,
                        obis=obis,
                        timestamp=delivery.timestamp,
                        value=value,
                        source=source,
                        received_at=received_at,
                    )
                )
            else:
                unmatched.append(
                    UnmatchedReading(
                        source=source,
                        remote_id=delivery.remote_id,
                        obis=obis,
                        timestamp=delivery.timestamp,
                        value=value,
                        received_at=received_at,
                    )
                )
    device_ids = sorted(set(device_of.values()))
    with transaction.atomic():
        if readings:
            lock_devices(device_ids)  # before the INSERT takes ids: see locks.py
            Reading.objects.bulk_create(readings, ignore_conflicts=True)
        if unmatched:
            UnmatchedReading.objects.bulk_create(unmatched, ignore_conflicts=True)
        if device_ids:
            transaction.on_commit(lambda: mark_pending(device_ids))
    return Stored(matched=len(readings), unmatched=len(unmatched), devices=len(device_ids))
