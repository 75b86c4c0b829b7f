"""Readings stored before units: smart-me's milli-units converted, every row's unit said.

smart-me's webhook values are milli-units (its guide: "1879583.2 mWh = 1879.5832 Wh"),
and they were stored as sent: 10⁶ times too large for energy (mWh for kWh) and power
(mW for kW), 10³ for the rest. This divides each smart-me row of a recognised OBIS code
by its power of ten and names its unit; Climkit's rows were already in the stored units
(kWh, m³) and only get theirs named.

Safe to run twice (and to run while the webhook stores new rows): only rows without a
unit are touched, and a converted row has one. Rows of codes units.py does not
recognise keep their value and an empty unit, as new ones do. Reversible: backwards,
smart-me rows are multiplied back and every unit is cleared.

Zählerfreunde replaces a reading it holds for the same device, code and time, so the
devices whose smart-me readings were fixed have their Zählerfreunde forwarding sent
again from the start (cursor 0): the platform then holds the corrected values. zevvy
keeps the measurements it has (a repeat is a 409) and offers no update: what it was
sent before stays wrong there (docs/readings.md says what staff do).

units.py is pure Python; its stored units are a contract (changing one needs a
migration of its own), which is why this migration may use it.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

from onboarding.readings import units

SMARTME = "smartme"


def _codes(model, **filters) -> list[str]:
    return list(model.objects.filter(unit="", **filters).values_list("obis", flat=True).distinct())


def forwards(apps, schema_editor):
    Reading = apps.get_model("readings", "Reading")
    Unmatched = apps.get_model("readings", "UnmatchedReading")
    Forwarding = apps.get_model("readings", "Forwarding")
    fixed_devices: set[int] = set()
    for model in (Reading, Unmatched):
        for code in _codes(model, source=SMARTME):
            target = units.stored_unit(code)
            if not target:
                continue
            steps = units.powers_of_ten(units.MILLI[target], target)
            rows = model.objects.filter(source=SMARTME, unit="", obis=code)
            if model is Reading:
                fixed_devices.update(rows.values_list("device_id", flat=True).distinct())
            # Division by an exact power of ten: correctly rounded (1879583.2 → 1.8795832).
            rows.update(value=F("value") / 10**steps, unit=target)
        for code in _codes(model):
            target = units.stored_unit(code)
            if target:  # Climkit's (or any other source's) rows, already in stored units
                model.objects.filter(unit="", obis=code).exclude(source=SMARTME).update(
                    unit=target
                )
    if fixed_devices:
        Forwarding.objects.filter(
            device_id__in=fixed_devices, destination="zaehlerfreunde"
        ).update(
            cursor=0, state="pending", not_before=timezone.now(), queued_at=None,
            claimed_at=None, claim_token=None, attempts=0,
            last_error="Sent again: its smart-me readings were corrected to kWh/kW.",
        )  # fmt: skip


def backwards(apps, schema_editor):
    for name in ("Reading", "UnmatchedReading"):
        model = apps.get_model("readings", name)
        for code, unit in (
            model.objects.filter(source=SMARTME).exclude(unit="")
            .values_list("obis", "unit").distinct()
        ):  # fmt: skip
            steps = units.powers_of_ten(units.MILLI[unit], unit)
            model.objects.filter(source=SMARTME, obis=code, unit=unit).update(
                value=F("value") * 10**steps, unit=""
            )
        model.objects.exclude(unit="").update(unit="")


class Migration(migrations.Migration):
    dependencies = [("readings", "0002_reading_unit")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
