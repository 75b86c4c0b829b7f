"""How a batch of one device's readings goes to each platform.

A destination says whether the device can receive readings there yet (`waiting_for`)
and sends one batch (`send`); it raises the client's typed errors and returns only once
the platform accepted every reading of the batch. The forwarding run moves the cursor
after that, never before.

A repeated reading is harmless on both platforms, which matters when a batch is sent
again because its answer was lost (a timeout after the platform stored it):
- Zählerfreunde keeps one reading per (device, OBIS code, timestamp): sending it again
  replaces it with the same value (its sandbox does exactly that).
- zevvy stores what is new and skips what it has; a batch it already has entirely is
  answered 409 (NOTES.md), which its client reports as "already there" = accepted.
So nothing is sent twice on purpose, and what is sent twice by accident is not doubled.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from onboarding.models import Device, SyncRecord
from onboarding.sync.engine import remote_id_of
from providers import registry

from .models import Destination, Forwarding, Reading


@dataclass
class Wait:
    """Not yet: why, and when to look again (None: SYNC_DEPENDENCY_WAIT_SECONDS)."""

    reason: str
    seconds: float | None = None


def outbox_row(device: Device, provider: str) -> dict | None:
    """The device's outbox row for `provider`: its remote id, state and next try."""
    return (
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(Device),
            object_id=device.pk,
            provider=provider,
        )
        .values("remote_id", "state", "not_before")
        .first()
    )


def short_obis(code: str) -> str:
    """'1-0:1.8.0*255' → '1.8.0' (Zählerfreunde's guide writes C.D.E)."""
    rest = code.split(":", 1)[-1]
    return rest.split("*", 1)[0]


class Zaehlerfreunde:
    """`POST /devices/readings`, one device per batch, by its external id (the MeLo or
    meter number staff gave it) or, without one, by the id Zählerfreunde gave it."""

    name = Destination.ZAEHLERFREUNDE

    def waiting_for(self, forwarding: Forwarding, device: Device) -> Wait | None:
        # Readings for a device the platform does not hold yet are refused (400): wait
        # until the outbox has created it there. While a change of it is on its way
        # (its external id, say), wait for that too, briefly: readings addressed by the
        # new external id before the platform knows it would be refused.
        row = outbox_row(device, self.name)
        label = registry.label(self.name)
        if row is None or not row["remote_id"]:
            return Wait(f"Waiting for {device} to reach {label}.")
        if device.external_device_id and row["state"] in ("pending", "in_flight"):
            # Look again shortly, or when the outbox's own retry of it is due.
            due_in = (row["not_before"] - timezone.now()).total_seconds()
            seconds = min(max(2.0, due_in + 1.0), settings.SYNC_DEPENDENCY_WAIT_SECONDS)
            return Wait(f"Waiting for the latest change of {device} to reach {label}.", seconds)
        return None

    def send(self, client, forwarding: Forwarding, device: Device, batch: list[Reading]):
        full = settings.ZAEHLERFREUNDE_OBIS_FORMAT == "full"
        key = (
            {"externalDeviceId": device.external_device_id}
            if device.external_device_id
            else {"deviceId": remote_id_of(device, self.name)}
        )
        # Timestamps go in the configured unit (seconds by default): two readings of one
        # OBIS code within the same second are one reading there.
        readings = [
            {
                "obisCode": r.obis if full else short_obis(r.obis),
                "timestamp": r.timestamp,
                "value": r.value,
            }
            for r in batch
        ]
        client.post_readings([{**key, "readings": readings}])


class Zevvy:
    """`_bulk_create` of measurements, one register per OBIS code (its name or reference
    is the OBIS code, e.g. 1-0:1.8.0*255)."""

    name = Destination.ZEVVY

    def waiting_for(self, forwarding: Forwarding, device: Device) -> Wait | None:
        if forwarding.addressing == Forwarding.Addressing.REFERENCE and not remote_id_of(
            device, self.name
        ):
            return Wait(f"Waiting for {device} to reach {registry.label(self.name)}.")
        return None

    def send(self, client, forwarding: Forwarding, device: Device, batch: list[Reading]):
        if forwarding.addressing == Forwarding.Addressing.NAME:
            # The guide's form: zevvy finds (or creates) device and register by name, so
            # the name must be unique there: the external id, else name and space.
            device_name = device.external_device_id or str(device)
            client.bulk_create_measurements(
                [
                    {
                        "deviceName": device_name,
                        "registerName": r.obis,
                        "readAt": r.timestamp,
                        "value": r.value,
                    }
                    for r in batch
                ]
            )
            return
        # NOTES.md's form: the device the outbox created, by the reference it gave it.
        reference = registry.handler(self.name, Device).payload(device, None)["reference"]
        by_register = defaultdict(list)
        for r in batch:
            by_register[r.obis].append({"readAt": r.timestamp, "value": r.value})
        # One call per register; if a later one fails, the batch is sent again from the
        # same cursor and zevvy skips what the earlier calls stored.
        for obis, measurements in by_register.items():
            client.bulk_create_measurements_by_ref(reference, obis, measurements)


DESTINATIONS = {d.name: d for d in (Zaehlerfreunde(), Zevvy())}
