"""How readings are sent to zevvy: `_bulk_create` of measurements, one register per
OBIS code (its name or reference is the OBIS code, e.g. 1-0:1.8.0*255), in the unit
ZEVVY_ENERGY_UNIT says (kWh by default, or Wh; power in kW or W accordingly).

A repeated reading is harmless and a refusal loses nothing: NOTES.md documents a 409
only as "readings it already has", which zevvy may answer for a whole batch that holds
one of them; the client then halves the batch until each new reading is stored and
each 409 is about one reading zevvy has (client.py `_measurements`).
"""

from collections import defaultdict

from django.conf import settings

from onboarding.readings.destinations import OutboxState, Wait
from onboarding.readings.models import Forwarding, Reading
from onboarding.readings.units import in_unit_of
from providers import registry

from .sync import reference, zevvy_name

NAME = "zevvy"
# ZEVVY_ENERGY_UNIT → the unit per base unit (Wh, W) zevvy is sent; its guide names none.
ENERGY_UNITS = {"kWh": {"Wh": "kWh", "W": "kW"}, "Wh": {"Wh": "Wh", "W": "W"}}


def sent_value(reading: Reading) -> float:
    """The reading in the unit zevvy takes (ZEVVY_ENERGY_UNIT, kWh by default)."""
    try:
        wanted = ENERGY_UNITS[settings.ZEVVY_ENERGY_UNIT]
    except KeyError:
        raise ValueError(
            f"ZEVVY_ENERGY_UNIT must be one of {', '.join(ENERGY_UNITS)}, "
            f"not {settings.ZEVVY_ENERGY_UNIT!r}"
        ) from None
    return in_unit_of(reading.value, reading.unit, wanted)


class Zevvy:
    name = NAME

    def waiting_for(self, forwarding: Forwarding, device, outbox: OutboxState) -> Wait | None:
        # By reference, the device must exist there. By name too while the outbox is
        # creating it: readings sent first would make zevvy create a device of that
        # name, and the outbox's create a second one. Only a device the outbox does not
        # send to zevvy at all (no row) is left for zevvy to create by name.
        label = registry.label(self.name)
        by_name = forwarding.addressing == Forwarding.Addressing.NAME
        if not outbox.created and (not by_name or outbox.state):
            return Wait(f"Waiting for {device} to reach {label}.")
        if by_name and outbox.state:
            return self._name_not_yet_there(device, outbox, label)
        return None

    @staticmethod
    def _name_not_yet_there(device, outbox: OutboxState, label: str) -> Wait | None:
        """By name, zevvy finds the device by the name it holds: not while a rename is
        on its way (it would make a device of the new name), nor while another of ours
        has the same name there (it could not tell them apart)."""
        if outbox.changing:
            return Wait(f"Waiting for the name of {device} to reach {label}.")
        name = zevvy_name(device)
        if not device.name.strip():
            return None  # named by its reference there, which no other device has
        # One query for the candidates; zevvy holds the name stripped, so "Zähler " and
        # "Zähler" are namesakes there.
        candidates = (
            type(device)
            .objects.filter(name__contains=name, sync_records__provider=NAME)
            .exclude(pk=device.pk)
            .distinct()
        )
        namesakes = sum(1 for other in candidates if zevvy_name(other) == name)
        if namesakes:
            return Wait(
                f"{label} finds a device by its name, and {namesakes} other device(s) "
                f"are called {name!r} there: rename {device} (or them), or forward its "
                "readings by reference."
            )
        return None

    def send(self, client, forwarding: Forwarding, device, batch: list[Reading], outbox):
        key = reference(device)
        if forwarding.addressing == Forwarding.Addressing.NAME:
            # The guide's form: zevvy finds (or creates) device and register by name: the
            # name the outbox gave the device there (waiting_for made sure it holds it).
            name = zevvy_name(device)
            client.bulk_create_measurements(
                [
                    {
                        "deviceName": name,
                        "registerName": r.obis,
                        "readAt": r.timestamp,
                        "value": sent_value(r),
                    }
                    for r in batch
                ]
            )
            return
        # NOTES.md's form: the device the outbox created, by the reference it gave it.
        by_register = defaultdict(list)
        for r in batch:
            by_register[r.obis].append({"readAt": r.timestamp, "value": sent_value(r)})
        # One call per register; if a later one fails, the batch is sent again from the
        # same cursor and zevvy skips what the earlier calls stored.
        for obis, measurements in by_register.items():
            client.bulk_create_measurements_by_ref(key, obis, measurements)


DESTINATION = Zevvy()
