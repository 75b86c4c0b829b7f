"""The sandbox's demo account: three sites with addresses, meters of every type (charge
points included) and a few sensors. Ids are fixed (derived from names), so they stay the
same across resets and trainers can write them down."""

import hashlib
from contextlib import suppress
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from .models import Meter, Sensor, Site

E, H, CW, HW, CP = "electricity", "heating", "cold_water", "hot_water", "charge_point"
CONSUMPTION, PRODUCTION, INTRODUCTION, BATTERY = (
    "consumption",
    "production",
    "introduction",
    "battery",
)

SITES = [
    {
        "site_ref": "CK-ZH-0142",
        "name": "Lindenhof",
        "street_name": "Lindenstrasse",
        "street_number": "5",
        "city": "Zürich",
        "postal_code": 8004,
        "creation_date": datetime(2021, 4, 1, 8, 30, tzinfo=UTC),
        "latitude": 47.3769,
        "longitude": 8.5417,
        "meters": [
            ("Netzanschluss", E, INTRODUCTION, False),
            ("PV Dach", E, PRODUCTION, False),
            ("Batteriespeicher", E, BATTERY, False),
            ("Allgemeinstrom", E, CONSUMPTION, False),
            ("Wohnung 1.1", E, CONSUMPTION, False),
            ("Wohnung 1.2", E, CONSUMPTION, False),
            ("Wohnung 2.1", E, CONSUMPTION, False),
            ("Wohnung 2.2", E, CONSUMPTION, False),
            ("ZEV Eigenverbrauch (Regelzähler)", E, CONSUMPTION, True),
            ("Ladestation P1", CP, CONSUMPTION, False),
            ("Ladestation P2", CP, CONSUMPTION, False),
            ("Wärmepumpe Heizung", H, CONSUMPTION, False),
            ("Warmwasser Wohnung 1.1", HW, CONSUMPTION, False),
            ("Kaltwasser Hauptzähler", CW, CONSUMPTION, False),
        ],
        "sensors": [
            ("Temperatur Technikraum", "temperature", "°C", "Elsys ERS"),
            ("Luftfeuchte Technikraum", "humidity", "%", "Elsys ERS"),
            ("CO2 Treppenhaus", "co2", "ppm", "Elsys ERS CO2"),
        ],
    },
    {
        "site_ref": "CK-LU-0077",
        "name": "Seeblick",
        "street_name": "Seestrasse",
        "street_number": "12a",
        "city": "Luzern",
        "postal_code": 6006,
        "creation_date": datetime(2022, 9, 15, 12, 0, tzinfo=UTC),
        "latitude": 47.0502,
        "longitude": 8.3093,
        "meters": [
            ("Netzanschluss", E, INTRODUCTION, False),
            ("PV Fassade", E, PRODUCTION, False),
            ("Wohnung EG", E, CONSUMPTION, False),
            ("Wohnung OG", E, CONSUMPTION, False),
            ("Wohnung DG", E, CONSUMPTION, False),
            ("Ladestation Garage", CP, CONSUMPTION, False),
            ("Heizung Fernwärme", H, CONSUMPTION, False),
            ("Kaltwasser", CW, CONSUMPTION, False),
        ],
        "sensors": [("Aussentemperatur", "temperature", "°C", "Decentlab DL-TH")],
    },
    {
        "site_ref": "CK-WT-0203",
        "name": "Rebberg",
        "street_name": "Rebbergweg",
        "street_number": "3",
        "city": "Winterthur",
        "postal_code": 8400,
        "creation_date": datetime(2023, 2, 1, 9, 0, tzinfo=UTC),
        "latitude": 47.5056,
        "longitude": 8.7241,
        "meters": [
            ("Wohnung A", E, CONSUMPTION, False),
            ("Wohnung B", E, CONSUMPTION, False),
            ("Heizung Gas", H, CONSUMPTION, False),
            ("Warmwasser", HW, CONSUMPTION, False),
        ],
        "sensors": [],
    },
]


def object_id(*parts: str) -> str:
    """A stable 24-hex-digit id, shaped like the platform's MongoDB ObjectIds."""
    return hashlib.sha256(":".join(("climkit-sandbox", *parts)).encode()).hexdigest()[:24]


def seed() -> None:
    with transaction.atomic():
        for spec in SITES:
            fields = {k: v for k, v in spec.items() if k not in ("meters", "sensors")}
            site = Site.objects.create(object_id=object_id(spec["site_ref"]), **fields)
            for address, (name, type_, mode, rule) in enumerate(spec["meters"], start=1):
                Meter.objects.create(
                    object_id=object_id(spec["site_ref"], "meter", name),
                    site=site,
                    name=name,
                    type=type_,
                    mode=mode,
                    prim_ad=0 if rule else address,
                    is_rule_meter=rule,
                )
            for name, type_, unit, model in spec["sensors"]:
                Sensor.objects.create(
                    object_id=object_id(spec["site_ref"], "sensor", name),
                    site=site,
                    name=name,
                    type=type_,
                    unit=unit,
                    model=model,
                )


def ensure_seeded() -> None:
    """The account exists from the first request on (also after a test flushed it)."""
    if Site.objects.exists():
        return
    with suppress(IntegrityError):  # another server process seeded it at the same moment
        seed()
