"""Which Device a remote device's readings belong to, and attaching waiting readings.

A source platform's device is tied to one of ours through the catalogue links
(onboarding/catalogue/links.py): `Device.smartme_device` for a smart-me device,
`Device.climkit_meter` for a Climkit meter, each a catalogue row whose `remote_id` is the
platform's id. Readings for a remote device nobody has linked yet wait in
UnmatchedReading; linking the device moves them into Reading (a signal right after the
link commits, and the forwarding sweep as the net for anything that slipped past it:
a delivery that looked the link up just before it was made, say).
"""

import logging
from collections.abc import Iterable

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, transaction

from onboarding.models import Device

from .locks import lock_devices
from .models import Reading, Source, UnmatchedReading
from .pg import binary_cursor

log = logging.getLogger(__name__)

# Source → the Device field holding its catalogue link.
LINK_FIELDS = {Source.SMARTME: "smartme_device", Source.CLIMKIT: "climkit_meter"}
ATTACH_CHUNK = 2000


def link_field(source: str) -> str | None:
    """The Device field linking `source`'s devices, or None while no such link exists
    (the catalogue not installed yet): everything from it then waits as unmatched."""
    name = LINK_FIELDS.get(source)
    if name is None:
        return None
    try:
        Device._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return name


def _id_variants(remote_ids: Iterable[str]) -> set[str]:
    # smart-me lists device ids as .NET prints a Guid (lower case) and we decode to lower
    # case too; an upper-case copy in the catalogue still matches.
    ids = set(remote_ids)
    return ids | {i.upper() for i in ids} | {i.lower() for i in ids}


def devices_for(source: str, remote_ids: Iterable[str]) -> dict[str, int]:
    """{remote id (as given): Device pk} for the remote devices linked to one of ours."""
    name = link_field(source)
    remote_ids = list(remote_ids)
    if name is None or not remote_ids:
        return {}
    variants = sorted(_id_variants(remote_ids))
    if connection.vendor == "postgresql":
        linked = _linked_pg(name, variants)
    else:
        rows = Device.objects.filter(**{f"{name}__remote_id__in": variants})
        linked = dict(rows.values_list(f"{name}__remote_id", "pk"))
    linked = {rid.lower(): pk for rid, pk in linked.items()}
    return {rid: linked[rid.lower()] for rid in remote_ids if rid.lower() in linked}


def _linked_pg(name: str, remote_ids: list[str]) -> dict[str, int]:
    """The same lookup in one statement with one array parameter: a delivery names a
    hundred devices, which the ORM would quote one by one into an IN list."""
    field = Device._meta.get_field(name)
    entry = field.related_model._meta
    quote = connection.ops.quote_name
    with binary_cursor() as cursor:
        # Table and column names come from the models; the ids are a parameter.
        cursor.execute(
            f"SELECT e.{quote('remote_id')}, d.{quote('id')} "  # noqa: S608
            f"FROM {quote(Device._meta.db_table)} d JOIN {quote(entry.db_table)} e "
            f"ON d.{quote(field.column)} = e.{quote(entry.pk.column)} "
            f"WHERE e.{quote('remote_id')} = ANY(%b::text[])",
            [remote_ids],
        )
        return dict(cursor.fetchall())


def remote_ids_of(device: Device) -> list[tuple[str, str]]:
    """[(source, remote id)] the device is linked to."""
    found = []
    for source, name in LINK_FIELDS.items():
        if link_field(source) is None or getattr(device, f"{name}_id") is None:
            continue
        found.append((source, getattr(device, name).remote_id))
    return found


def attach(device: Device) -> int:
    """Move the readings waiting for the remote devices `device` is linked to into its
    own readings; returns how many moved. Safe to repeat and to run concurrently."""
    moved = 0
    for source, remote_id in remote_ids_of(device):
        moved += _attach(device.pk, source, remote_id)
    return moved


def _attach(device_id: int, source: str, remote_id: str) -> int:
    from .queue import enqueue, wake

    moved = 0
    variants = _id_variants([remote_id])
    while True:
        with transaction.atomic():
            waiting = list(
                UnmatchedReading.objects.select_for_update(skip_locked=True)
                .filter(source=source, remote_id__in=variants)
                .order_by("pk")[:ATTACH_CHUNK]
            )
            if not waiting:
                break
            lock_devices([device_id])  # readings of one device are added in id order
            Reading.objects.bulk_create(
                [
                    Reading(
                        device_id=device_id,
                        obis=w.obis,
                        timestamp=w.timestamp,
                        value=w.value,
                        unit=w.unit,
                        source=source,
                        received_at=w.received_at,
                    )
                    for w in waiting
                ],
                ignore_conflicts=True,  # already stored (a delivery after the link): once
            )
            UnmatchedReading.objects.filter(pk__in=[w.pk for w in waiting]).delete()
            woken = wake([device_id])
            if woken:
                transaction.on_commit(lambda ids=woken: enqueue(ids))
        moved += len(waiting)
    if moved:
        log.info("attached %d waiting %s readings of %s to device %s", moved, source, remote_id,
                 device_id)  # fmt: skip
    return moved


def attach_all_linked() -> int:
    """Attach every waiting reading whose remote device is linked by now (the sweep)."""
    moved = 0
    for source in LINK_FIELDS:
        remote_ids = set(
            UnmatchedReading.objects.filter(source=source)
            .values_list("remote_id", flat=True)
            .distinct()
        )
        for remote_id, device_id in devices_for(source, remote_ids).items():
            moved += _attach(device_id, source, remote_id)
    return moved
