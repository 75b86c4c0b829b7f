"""Readings carry their unit: the OBIS code's quantity and its stored unit, exact
conversions, and the data migration that fixed smart-me's milli-units already stored."""

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onboarding.readings import units

from .factories import building, device, unit

FIX = ("readings", "0003_smartme_readings_in_stored_units")
BEFORE = ("readings", "0002_reading_unit")
AT = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "unit_"),
    [
        ("1-0:1.8.0*255", "kWh"),  # active energy import, a meter reading
        ("1-0:2.8.0*255", "kWh"),
        ("1-0:1.29.0*255", "kWh"),  # a period's amount (Climkit's validated total)
        ("1-65:1.29.0*255", "kWh"),  # ours: ZEV self-consumption
        ("1-0:1.7.0*255", "kW"),  # instantaneous power
        ("1-0:3.8.0*255", "kvarh"),
        ("1-0:32.7.0*255", "V"),
        ("1-0:31.7.0*255", "A"),
        ("6-0:1.0.0*255", "kWh"),  # heat
        ("8-0:1.0.0*255", "m³"),  # cold water
        ("0-0:96.1.0*255", ""),  # an identifier: no quantity, no unit
        ("not obis", ""),
    ],
)
def test_each_code_has_the_unit_of_its_quantity(code, unit_):
    assert units.stored_unit(code) == unit_


def test_conversions_are_exact_in_decimal():
    assert units.convert(1879583.2, "mWh", "kWh") == 1.8795832
    assert units.convert(1.8795832, "kWh", "Wh") == 1879.5832
    assert units.convert(24.19, "mW", "kW") == 0.00002419
    assert units.from_milli("8-0:1.0.0*255", 1500.0) == (1.5, "m³")
    with pytest.raises(units.UnitError):
        units.convert(1.0, "kWh", "m³")


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_fixes_stored_smartme_readings_once_and_reverses():
    meter = device(unit(building("Haus M"), "Flat 1"), "Meter M", external_id="CH-M")
    old = _migrate(BEFORE)  # the schema had a unit column, nothing filled it yet
    Reading = old.get_model("readings", "Reading")
    Unmatched = old.get_model("readings", "UnmatchedReading")
    Forwarding = old.get_model("readings", "Forwarding")
    rows = [
        ("smartme", "1-0:1.8.0*255", 1879583.2),  # the guide's example, as it was stored
        ("smartme", "1-0:1.7.0*255", 24.19),
        ("smartme", "0-0:96.1.0*255", 42.0),  # unknown: left as it is
        ("climkit", "1-0:2.8.0*255", 12.5),  # Climkit's were kWh already
    ]
    for minute, (source, code, value) in enumerate(rows):
        Reading.objects.create(
            device_id=meter.pk, obis=code, timestamp=AT.replace(minute=minute), value=value,
            source=source,
        )  # fmt: skip
    Unmatched.objects.create(
        source="smartme", remote_id="abc", obis="1-0:1.8.0*255", timestamp=AT, value=5e6
    )
    Forwarding.objects.create(device_id=meter.pk, destination="zaehlerfreunde", cursor=99)

    new = _migrate(FIX)
    Reading = new.get_model("readings", "Reading")
    fixed = {(r.source, r.obis): (r.value, r.unit) for r in Reading.objects.all()}
    assert fixed == {
        ("smartme", "1-0:1.8.0*255"): (1.8795832, "kWh"),
        ("smartme", "1-0:1.7.0*255"): (0.00002419, "kW"),
        ("smartme", "0-0:96.1.0*255"): (42.0, ""),
        ("climkit", "1-0:2.8.0*255"): (12.5, "kWh"),
    }
    waiting = new.get_model("readings", "UnmatchedReading").objects.get()
    assert (waiting.value, waiting.unit) == (5.0, "kWh")
    # Zählerfreunde replaces what it holds: the device's readings go there once more.
    again = new.get_model("readings", "Forwarding").objects.get()
    assert (again.cursor, again.state) == (0, "pending")

    # Run twice (a re-applied migration, a second deployment): nothing changes.
    module = importlib.import_module(
        "onboarding.readings.migrations.0003_smartme_readings_in_stored_units"
    )
    module.forwards(new, None)
    assert {(r.source, r.obis): (r.value, r.unit) for r in Reading.objects.all()} == fixed

    back = _migrate(BEFORE)
    restored = {
        (r.source, r.obis): (r.value, r.unit)
        for r in back.get_model("readings", "Reading").objects.all()
    }
    assert restored == {
        ("smartme", "1-0:1.8.0*255"): (1879583.2, ""),
        ("smartme", "1-0:1.7.0*255"): (24.19, ""),
        ("smartme", "0-0:96.1.0*255"): (42.0, ""),
        ("climkit", "1-0:2.8.0*255"): (12.5, ""),
    }
    _migrate(("readings", _latest()))


def _latest() -> str:
    executor = MigrationExecutor(connection)
    return max(name for app, name in executor.loader.graph.leaf_nodes() if app == "readings")
