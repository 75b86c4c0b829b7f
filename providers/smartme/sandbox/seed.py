"""The demo account: a small Swiss utility's smart-me devices, the same on every seed.

Two buildings' electricity meters (flats, common areas, a PV plant), the heat and water
meters of a third building read through an M-Bus gateway, gas meters and a temperature
sensor: 34 devices. Ids, names and serials come from a fixed seed; only the value dates
follow the clock (the last measurement a few minutes ago, or a day ago for a meter the
gateway failed to read), so the trainer page looks alive.
"""

import random
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..values import ELECTRICITY, GAS, HEAT, MBUS_GATEWAY, TEMPERATURE, WATER
from .models import AccessToken, Device, Seeded

NAMESPACE = uuid.UUID("6f1c2a52-6d1e-4d5e-9a57-5b8f0c6a1e01")
# FamilyType values we use (the platform has many; NOTES.md: an integer).
SMART_ME_METER, MBUS_GATEWAY_FAMILY, MBUS_METER, TEMPERATURE_SENSOR = 1, 12, 13, 20


def ensure_seeded() -> None:
    """Seed the demo account unless it is there; safe when two requests race."""
    if Seeded.objects.exists():
        return
    try:
        with transaction.atomic():
            Seeded.objects.create(pk=1)
            _seed()
    except IntegrityError:
        pass  # another request seeded it meanwhile


def reset() -> None:
    """Back to the demo account as seeded: added devices gone, changed ones restored."""
    with transaction.atomic():
        Device.objects.filter(gateway__isnull=False).delete()
        Device.objects.all().delete()
        AccessToken.objects.all().delete()
        Seeded.objects.all().delete()
        Seeded.objects.create(pk=1)
        _seed()


def _seed() -> None:
    rng = random.Random(20260322)  # noqa: S311 (demo data, not secrets)
    now = timezone.now()

    def device(name, energy_type, family, readings, *, gateway=None, stale=False, **extra):
        minutes = rng.randint(25 * 60, 40 * 60) if stale else rng.randint(1, 14)
        return Device.objects.create(
            uuid=uuid.uuid5(NAMESPACE, name),
            name=name,
            serial=rng.randint(10_000_000, 99_999_999),
            energy_type=energy_type,
            family_type=family,
            readings=readings,
            value_date=now - timedelta(minutes=minutes, microseconds=rng.randint(0, 999_999)),
            gateway=gateway,
            **extra,
        )

    def electricity(name, kwh, *, export=None):
        power = round(rng.uniform(0.05, 3.5), 3)
        readings = {
            "ActivePower": power, "ActivePowerUnit": "kW",
            "CounterReading": kwh, "CounterReadingUnit": "kWh",
            "CounterReadingImport": kwh,
            "CounterReadingT1": round(kwh * 0.6, 3), "CounterReadingT2": round(kwh * 0.4, 3),
            "Voltage": round(rng.uniform(228, 233), 1), "Current": round(power * 1000 / 230, 2),
        }  # fmt: skip
        if export is not None:
            readings["CounterReadingExport"] = export
        return device(name, ELECTRICITY, SMART_ME_METER, readings)

    for building, flats in (("Lindenhof", 8), ("Sonnmatt", 6)):
        for flat in range(1, flats + 1):
            floor, door = divmod(flat - 1, 2)
            name = f"{building} W{floor + 1}.{door + 1} Strom"
            electricity(name, round(rng.uniform(800, 9000), 3))
        electricity(f"{building} Allgemein Strom", round(rng.uniform(2000, 20000), 3))
    electricity("Lindenhof PV Produktion", 1234.5, export=round(rng.uniform(20000, 60000), 3))

    gateway = device(
        "Bachweg 3 M-Bus Gateway", MBUS_GATEWAY, MBUS_GATEWAY_FAMILY, {},
        readout_interval=4, gateway_state=0, last_seen=now - timedelta(minutes=3),
    )  # fmt: skip
    for flat in range(1, 7):
        for energy_type, what, unit, low, high in (
            (HEAT, "Wärme", "MWh", 1, 40),
            (WATER, "Kaltwasser", "m3", 10, 400),
        ):
            stale = flat == 6 and energy_type == WATER  # one meter the gateway lost
            device(
                f"Bachweg 3 W{flat} {what}", energy_type, MBUS_METER,
                {"CounterReading": round(rng.uniform(low, high), 3), "CounterReadingUnit": unit},
                gateway=gateway, stale=stale,
                secondary_address=f"{rng.randint(10_000_000, 99_999_999)}{rng.choice('ABCD')}2C",
                mbus_state=1 if stale else 0,
            )  # fmt: skip
    for floor in ("EG", "1. OG", "2. OG"):
        device(
            f"Bachweg 3 Gas {floor}", GAS, SMART_ME_METER,
            {"CounterReading": round(rng.uniform(500, 5000), 3), "CounterReadingUnit": "m3"},
        )  # fmt: skip
    device(
        "Bachweg 3 Technikraum Temperatur", TEMPERATURE, TEMPERATURE_SENSOR,
        {"Temperature": round(rng.uniform(18, 24), 1)},
    )  # fmt: skip
