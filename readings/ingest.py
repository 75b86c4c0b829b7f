"""Storing readings from any source: all of a delivery or nothing, each reading once.

A delivery's readings for linked devices go into Reading, the others into
UnmatchedReading, in one transaction; a reading already stored (same device or remote
device, OBIS code and time) is skipped by the database (ON CONFLICT DO NOTHING), so a
repeated delivery changes nothing. The same transaction wakes the devices' idle
forwardings (queue.wake); they are enqueued once it commits. Nothing is sent to any
platform from here.

On PostgreSQL the rows go in as arrays (`INSERT … SELECT FROM unnest(…)`), with no model
instance per reading: the webhook answers in a few milliseconds for 300 readings.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .locks import lock_devices
from .matching import devices_for
from .models import Reading, UnmatchedReading
from .pg import binary_cursor
from .queue import enqueue, wake


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
    readings: list[tuple] = []  # (device id, OBIS code, timestamp, value)
    unmatched: list[tuple] = []  # (remote id, OBIS code, timestamp, value)
    for delivery in deliveries:
        device_id = device_of.get(delivery.remote_id)
        target, key = (
            (readings, device_id) if device_id is not None else (unmatched, delivery.remote_id)
        )
        for obis, value in delivery.values:
            target.append((key, obis, delivery.timestamp, value))
    device_ids = sorted(set(device_of.values()))
    with transaction.atomic():
        if readings:
            lock_devices(device_ids)  # before the INSERT takes ids: see locks.py
            _insert(Reading, "device_id", readings, source, received_at)
            woken = wake(device_ids)
            if woken:
                transaction.on_commit(lambda: enqueue(woken))
        if unmatched:
            _insert(UnmatchedReading, "remote_id", unmatched, source, received_at)
    return Stored(matched=len(readings), unmatched=len(unmatched), devices=len(device_ids))


def _insert(model, key_field: str, rows: list[tuple], source: str, received_at) -> None:
    """INSERT the rows, skipping those already stored."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [
                model(**{key_field: k}, obis=o, timestamp=t, value=v, source=source,
                      received_at=received_at)
                for k, o, t, v in rows
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        return
    key_type = "bigint" if key_field == "device_id" else "text"
    keys, codes, times, values = (list(column) for column in zip(*rows, strict=True))
    table = connection.ops.quote_name(model._meta.db_table)
    with binary_cursor() as cursor:
        # Table and column names come from the model; every value is a parameter.
        cursor.execute(
            f"INSERT INTO {table} ({key_field}, obis, timestamp, value, source, received_at) "  # noqa: S608
            f"SELECT k, o, t, v, %b, %b FROM unnest(%b::{key_type}[], %b::text[], "
            "%b::timestamptz[], %b::float8[]) AS u(k, o, t, v) ON CONFLICT DO NOTHING",
            [source, received_at, keys, codes, times, values],
        )
