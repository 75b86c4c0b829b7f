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

from onboarding.operations import metrics

from .locks import lock_devices, lock_statement
from .matching import devices_for
from .models import Reading, UnmatchedReading
from .pg import binary_cursor
from .queue import enqueue, wake, wake_statement
from .unmatched import admissible


@dataclass(frozen=True)
class RemoteReadings:
    """One remote device's values at one instant, as a source delivers them."""

    remote_id: str
    timestamp: datetime
    # (OBIS code, value, unit): the source's value already in the stored unit of the
    # code's quantity (units.to_stored / units.from_milli), the unit said with it.
    values: tuple[tuple[str, float, str], ...]


@dataclass
class Stored:
    matched: int = 0  # readings offered for linked devices (new or already stored)
    unmatched: int = 0  # readings offered for remote devices not linked yet
    dropped: int = 0  # readings of devices the catalogue does not know (unmatched.py)
    devices: int = 0  # linked devices in the delivery


def store(source: str, deliveries: Iterable[RemoteReadings]) -> Stored:
    deliveries = list(deliveries)
    received_at = timezone.now()
    device_of = devices_for(source, {d.remote_id for d in deliveries})
    readings: list[tuple] = []  # (device id, OBIS code, timestamp, value, unit)
    unmatched: list[tuple] = []  # (remote id, OBIS code, timestamp, value, unit)
    for delivery in deliveries:
        device_id = device_of.get(delivery.remote_id)
        target, key = (
            (readings, device_id) if device_id is not None else (unmatched, delivery.remote_id)
        )
        for obis, value, unit in delivery.values:
            target.append((key, obis, delivery.timestamp, value, unit))
    device_ids = sorted(set(device_of.values()))
    unmatched, dropped = admissible(source, unmatched)
    stored = Stored(
        matched=len(readings), unmatched=len(unmatched), devices=len(device_ids), dropped=dropped
    )
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        woken = _store_in_one_round_trip(source, readings, unmatched, device_ids, received_at)
        if woken:
            enqueue(woken)
        metrics.readings_ingested(source, len(readings), len(unmatched))
        return stored
    with transaction.atomic():
        if readings:
            lock_devices(device_ids)  # before the INSERT takes ids: see locks.py
            _insert(Reading, "device_id", readings, source, received_at)
            woken = wake(device_ids)
            if woken:
                transaction.on_commit(lambda: enqueue(woken))
        if unmatched:
            _insert(UnmatchedReading, "remote_id", unmatched, source, received_at)
    metrics.readings_ingested(source, len(readings), len(unmatched))
    return stored


def _store_in_one_round_trip(source, readings, unmatched, device_ids, received_at) -> list[int]:
    """PostgreSQL: the same transaction as `store`'s (lock the devices, insert, wake their
    forwardings) sent as one pipeline, BEGIN to COMMIT, and answered at once.

    The statements still run one after the other on the server, so the locks are held
    before the INSERT takes ids (locks.py); but the delivery waits for one round trip
    instead of six, and, above all, holds its devices' locks only while the server
    works, not across the round trips between statements: a delivery waiting for the
    same devices (smart-me sends an account's devices together) waits that much less.
    Returns the forwardings it woke, to enqueue (now committed)."""
    conn = _raw_connection()
    statements = []
    if readings:
        statements += [
            lock_statement(device_ids),
            _insert_statement(Reading, "device_id", readings, source, received_at),
        ]
    if unmatched:
        statements.append(
            _insert_statement(UnmatchedReading, "remote_id", unmatched, source, received_at)
        )
    import psycopg

    try:
        with (
            conn.pipeline() as pipeline,
            psycopg.Cursor(conn) as cursor,
            psycopg.Cursor(conn) as woke,
        ):
            cursor.execute("BEGIN")
            for sql, params in statements:
                cursor.execute(sql, params)
            if readings:
                woke.execute(*wake_statement(device_ids))
            cursor.execute("COMMIT")
            pipeline.sync()  # everything above leaves now, in one go
            return [row[0] for row in woke.fetchall()] if readings else []
    except Exception:
        conn.rollback()  # whatever ran is undone: nothing of the delivery is stored
        raise


def _raw_connection():
    """Django's psycopg connection, open and in autocommit (no transaction of Django's)."""
    connection.ensure_connection()
    return connection.connection


def _insert(model, key_field: str, rows: list[tuple], source: str, received_at) -> None:
    """INSERT the rows, skipping those already stored."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [
                model(**{key_field: k}, obis=o, timestamp=t, value=v, unit=u, source=source,
                      received_at=received_at)
                for k, o, t, v, u in rows
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        return
    with binary_cursor() as cursor:
        cursor.execute(*_insert_statement(model, key_field, rows, source, received_at))


def _insert_statement(model, key_field: str, rows: list[tuple], source: str, received_at):
    """PostgreSQL: the rows as arrays, one INSERT … SELECT FROM unnest, skipping those
    already stored (server-side binding: a binary cursor)."""
    key_type = "bigint" if key_field == "device_id" else "text"
    keys, codes, times, values, units = (list(column) for column in zip(*rows, strict=True))
    table = connection.ops.quote_name(model._meta.db_table)
    # Table and column names come from the model; every value is a parameter.
    return (
        f"INSERT INTO {table} ({key_field}, obis, timestamp, value, unit, source, "  # noqa: S608
        f"received_at) SELECT k, o, t, v, n, %b, %b FROM unnest(%b::{key_type}[], "
        "%b::text[], %b::timestamptz[], %b::float8[], %b::text[]) AS u(k, o, t, v, n) "
        "ON CONFLICT DO NOTHING",
        [source, received_at, keys, codes, times, values, units],
    )
