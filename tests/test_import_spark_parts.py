"""The import's optional Spark columns: a tenant's meter, vehicle and resource, one set
per row, validated like the rest, counted in the summary (the preview shows it), created
once and marked for Spark."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from onboarding import importer, services
from onboarding.models import Meter, Resource, SyncRecord, TenantUser, Vehicle

pytestmark = pytest.mark.django_db

HEADER = [
    "building", "address_line_one", "postcode", "city", "unit", "category", "tenant_name",
    "tenant_email", "meter_point_id", "vehicle_brand", "vehicle_model", "vehicle_year",
    "vehicle_vin", "resource_type", "resource_brand", "resource_model",
]  # fmt: skip
ANNA = "Linde|Lindenweg 3|10115|Berlin|Whg 1||Anna|anna@example.org|CH-MP-1"
ROWS = [
    f"{ANNA}|Tesla|Model 3|2022|5yj3e1ea7kf317000|heat pump|Nibe|F2120",
    "Linde|Lindenweg 3|10115|Berlin|Laden|COMMERCIAL|Bo|bo@example.org|CH-MP-2|Renault|Zoe|||"
    "HotWaterTank|Oso|",
    "Linde|Lindenweg 3|10115|Berlin|Whg 3||Cem|cem@example.org|||||||",
]


def write(path, rows, header=HEADER):
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(row.split("|") for row in rows)
    return path


def run(path) -> str:
    out = io.StringIO()
    call_command("import_building", str(path), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def errors_of(path) -> list[str]:
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_building", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines()


def test_a_tenants_meter_vehicle_and_resource_come_from_their_row(tmp_path):
    output = run(write(tmp_path / "spark.csv", ROWS))

    anna, bo = TenantUser.objects.get(name="Anna"), TenantUser.objects.get(name="Bo")
    meter = anna.meters.get()
    assert meter.meter_point_id == "CH-MP-1"
    assert meter.effective_location_type == "Residential"  # a flat
    assert bo.meters.get().effective_location_type == "Commercial"  # a shop
    car = anna.vehicles.get()
    assert (car.brand, car.model, car.year, car.vin) == ("Tesla", "Model 3", 2022,
                                                         "5YJ3E1EA7KF317000")  # fmt: skip
    assert bo.vehicles.get().vin is None
    pump = anna.resources.get()
    assert (pump.kind, pump.brand, pump.model, pump.meter) == ("HeatPump", "Nibe", "F2120", meter)
    assert bo.resources.get().kind == "HotWaterTank"
    assert not TenantUser.objects.get(name="Cem").meters.exists()

    for kind, created in (("meters", 2), ("vehicles", 2), ("resources", 2)):
        line = next(line for line in output.splitlines() if line.startswith(kind))
        assert [int(n) for n in line.split()[1:]] == [created, 0, 0]
    spark_rows = SyncRecord.objects.filter(provider="spark")
    assert spark_rows.count() == 3 + 2 + 2 + 2  # tenants, meters, vehicles, resources

    again = run(write(tmp_path / "spark.csv", ROWS))  # the same file: nothing changes
    assert "meters            0        0          2" in again
    assert (Meter.objects.count(), Vehicle.objects.count(), Resource.objects.count()) == (2, 2, 2)


def test_a_row_changed_updates_its_parts(tmp_path):
    run(write(tmp_path / "spark.csv", ROWS[:1]))
    changed = [f"{ANNA}|Tesla|Model 3|2023|5YJ3E1EA7KF317000|HeatPump|Nibe|S1255"]
    output = run(write(tmp_path / "spark.csv", changed))
    assert Vehicle.objects.get().year == 2023
    assert Resource.objects.get().model == "S1255"
    assert "vehicles          0        1          0" in output


def test_spark_cells_are_validated_like_the_rest(tmp_path):
    rows = [
        "Linde|Lindenweg 3|10115|Berlin|Whg 1|||||Tesla||1850|NOTAVIN|sauna|=cmd|",
        "Linde|Lindenweg 3|10115|Berlin|Whg 2||Bo|bo@example.org|CH-MP-1|||||||",
        "Linde|Lindenweg 3|10115|Berlin|Whg 3||Cem|cem@example.org|CH-MP-1|||||||",
    ]
    errors = errors_of(write(tmp_path / "bad.csv", rows))
    assert errors == [
        "row 2, tenant_email: Required when vehicle_brand / vehicle_year / vehicle_vin / "
        "resource_type / resource_brand is given.",
        'row 4, meter_point_id: "CH-MP-1" is already in row 3.',
    ]
    rows[0] = (
        "Linde|Lindenweg 3|10115|Berlin|Whg 1||Al|al@example.org||Tesla||1850|NOTAVIN|sauna|=cmd|"
    )
    errors = errors_of(write(tmp_path / "bad.csv", rows))
    assert errors == [
        "row 2, vehicle_model: Required when vehicle_brand / vehicle_year / vehicle_vin is given.",
        "row 2, vehicle_year: Ensure this value is greater than or equal to 1990.",
        "row 2, vehicle_vin: A VIN has 17 characters: digits and capital letters except I, O "
        "and Q.",
        "row 2, resource_type: “sauna” is not a resource type. Use one of: HotWaterTank, "
        "HeatPump, Battery, ElectricBoiler, Charger, HVAC, SolarInverter, Generic.",
        'row 2, resource_brand: begins with "=", which a spreadsheet would run as a formula; it '
        'would reach the platforms and their e-mails. Remove the leading "=".',
        'row 4, meter_point_id: "CH-MP-1" is already in row 3.',
    ]
    assert TenantUser.objects.count() == 0 and Meter.objects.count() == 0


def test_a_meter_or_vin_of_another_tenant_is_refused(tmp_path):
    run(write(tmp_path / "spark.csv", ROWS[:1]))
    other = "Linde|Lindenweg 3|10115|Berlin|Whg 2||Bo|bo@example.org"
    errors = errors_of(
        write(
            tmp_path / "spark.csv",
            [
                f"{other}|CH-MP-1|||||||",
                f"{other.replace('2', '4')}|CH-MP-9|Tesla|Model 3||5YJ3E1EA7KF317000|||",
            ],
        )  # fmt: skip
    )
    assert errors == [
        'row 2, meter_point_id: "CH-MP-1" is already the meter of Anna <anna@example.org> in '
        "Linde / Whg 1.",
        'row 3, vehicle_vin: "5YJ3E1EA7KF317000" is already the vehicle of Anna '
        "<anna@example.org> in Linde / Whg 1.",
    ]


def test_the_preview_counts_the_parts_and_writes_nothing(tmp_path):
    summary = services.preview_import(write(tmp_path / "spark.csv", ROWS))
    assert {k: dict(v) for k, v in summary.counts.items()}["resources"] == {
        "created": 2, "updated": 0, "unchanged": 0,
    }  # fmt: skip
    assert Meter.objects.count() == 0
    # A file without the Spark columns shows no Spark kinds.
    plain = write(tmp_path / "plain.csv", ["Linde|Lindenweg 3|10115|Berlin|Whg 1"], HEADER[:5])
    assert set(services.preview_import(plain).counts) == set(importer.KINDS)
