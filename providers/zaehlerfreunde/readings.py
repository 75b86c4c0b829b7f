"""How readings are sent to Zählerfreunde: `POST /devices/readings`, one device per
batch, by its external id (the MeLo or meter number staff gave it) or, without one, by
the id Zählerfreunde gave it.

OBIS codes: the spec's NewReading lists the codes the platform accepts, with their
units: active energy (1.8.0, 1.9.0, 1.29.0, 2.8.0, 2.9.0, 2.29.0; kWh), heat
(6-1:1.0.0, kWh), gas (7-1:3.1.0, m³), water (8-1:1.0.0, m³). Only those are sent, in
the spec's own form (`their_code`). It lists no power code, so 1-0:1.7.0 (smart-me's
instantaneous power) stays with us, like reactive energy, voltage, a tariff register
(1.8.1) and our own OBIS-like codes (a utility-specific channel, such as Climkit's ZEV
split 1-65:1.29.0*255, which in the short form would land on the total's 1.29.0).

Units: readings are stored in the units the spec lists (onboarding/readings/units.py);
`TAKES` says so explicitly, so a change of the stored units could not slip through.

A repeated reading: no source says what Zählerfreunde does with a reading it already
holds (same device, OBIS code, timestamp). We rely on it keeping one and replacing it,
since a batch whose answer was lost is sent again; its sandbox does exactly that.
"""

import re

from django.conf import settings
from django.utils import timezone

from onboarding.readings.destinations import OutboxState, Wait
from onboarding.readings.models import Forwarding, Reading
from onboarding.readings.units import in_unit_of
from providers import registry

NAME = "zaehlerfreunde"
# Base unit of a quantity → the unit Zählerfreunde takes for it (its spec's NewReading).
TAKES = {"Wh": "kWh", "m³": "m³"}
# The spec's "Accepted Obis Codes" (NewReading.obisCode): electricity as C.D.E (also
# written "1-1:C.D.E"), the other media, by value group A, only in full.
ELECTRICITY = frozenset(("1.8.0", "1.9.0", "1.29.0", "2.8.0", "2.9.0", "2.29.0"))
OTHER_MEDIA = {(6, "1.0.0"): "6-1:1.0.0", (7, "3.1.0"): "7-1:3.1.0", (8, "1.0.0"): "8-1:1.0.0"}
_FULL_OBIS = re.compile(r"^(?P<a>\d+)-(?P<b>\d+):(?P<cde>\d+\.\d+\.\d+)(\*(?P<f>\d+))?$")


def their_code(obis: str, *, full: bool = False) -> str | None:
    """Our code as Zählerfreunde takes it: '1-0:1.8.0*255' → '1.8.0' (the guide's form)
    or, `full`, '1-1:1.8.0' (the spec's); '6-0:1.0.0*255' → '6-1:1.0.0'. None for what
    its spec lists no code for: power, a tariff register, a past billing period (F other
    than 255), a channel other than the meter's own (B 0 or 1), our own codes."""
    match = _FULL_OBIS.match(obis or "")
    if not match or match["b"] not in ("0", "1") or match["f"] not in (None, "255"):
        return None
    medium, cde = int(match["a"]), match["cde"]
    if medium == 1 and cde in ELECTRICITY:
        return f"1-1:{cde}" if full else cde
    return OTHER_MEDIA.get((medium, cde))


class Zaehlerfreunde:
    name = NAME

    def waiting_for(self, forwarding: Forwarding, device, outbox: OutboxState) -> Wait | None:
        # Readings for a device the platform does not hold yet cannot land (no source
        # says how they are answered; the sandbox refuses them with a 400): wait until
        # the outbox has created it there. While a change of it is on its way
        # (its external id, say), wait for that too, briefly: readings addressed by the
        # new external id before the platform knows it would be refused.
        label = registry.label(self.name)
        if not outbox.created:
            return Wait(f"Waiting for {device} to reach {label}.")
        if device.external_device_id and outbox.changing:
            # Look again shortly, or when the outbox's own retry of it is due.
            due_in = (outbox.not_before - timezone.now()).total_seconds()
            seconds = min(max(2.0, due_in + 1.0), settings.SYNC_DEPENDENCY_WAIT_SECONDS)
            return Wait(f"Waiting for the latest change of {device} to reach {label}.", seconds)
        return None

    def send(self, client, forwarding, device, batch: list[Reading], outbox: OutboxState):
        full = settings.ZAEHLERFREUNDE_OBIS_FORMAT == "full"
        key = (
            {"externalDeviceId": device.external_device_id}
            if device.external_device_id
            else {"deviceId": outbox.remote_id}
        )
        # Timestamps go in the configured unit (seconds by default): two readings of one
        # OBIS code within the same second are one reading there.
        readings = [
            {
                "obisCode": code,
                "timestamp": r.timestamp,
                "value": in_unit_of(r.value, r.unit, TAKES),
            }
            for r in batch
            if (code := their_code(r.obis, full=full))
        ]
        if readings:  # nothing the platform takes (power only, say): the cursor moves
            client.post_readings([{**key, "readings": readings}])


DESTINATION = Zaehlerfreunde()
