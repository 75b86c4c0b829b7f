"""`manage.py import_building`: a CSV of units becomes buildings, units, meters, tenants
and invites, validated as a whole, idempotent, and marked for sync in one transaction."""

import csv
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onboarding.models import Device, Invite, Space, SyncRecord, TenantUser

pytestmark = pytest.mark.django_db

HEADER = [
    "building",
    "address_line_one",
    "postcode",
    "city",
    "unit",
    "device_name",
    "external_device_id",
    "medium",
    "device_type",
    "tenant_name",
    "tenant_email",
    "send_invite_email",
]


def cells(line: str) -> list[str]:
    """One row written as "a|b|c", so that a table of rows stays readable."""
    return line.split("|")


ROWS = [
    cells("Haus Linde|Lindenweg 3|10115|Berlin|Whg 1|Strom|MELO-1|||Anna Alt|anna@example.org|"),
    cells(
        "Haus Linde|Lindenweg 3|10115|Berlin|Whg 2|Gas|MELO-2|gas|GAS_METER|Bo|bo@example.org|nein"
    ),
    cells("Haus Linde|Lindenweg 3|10115|Berlin|Whg 3|||||Cem Cay|cem@example.org|yes"),
]


def write(path, rows, header=HEADER, delimiter=",", encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        out = csv.writer(f, delimiter=delimiter)
        out.writerow(header)
        out.writerows(rows)
    return path


def run(path) -> str:
    out = io.StringIO()
    call_command("import_building", str(path), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_failing(path) -> tuple[str, list[str]]:
    """(the CommandError's message, the lines on stderr)."""
    err = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_building", str(path), stdout=io.StringIO(), stderr=err)
    return str(excinfo.value), err.getvalue().splitlines()


def summary_line(output: str, kind: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.startswith(kind))
    return [int(n) for n in line.split()[1:]]


def marked(model) -> set[int]:
    """Object ids of the model's pending rows on Zählerfreunde."""
    return set(
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            provider="zaehlerfreunde",
            state=SyncRecord.State.PENDING,
        ).values_list("object_id", flat=True)
    )


def settle_sync():
    """As if the platform had everything: no row pending."""
    SyncRecord.objects.update(state=SyncRecord.State.SYNCED, remote_id="r")


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Space, Device, TenantUser, Invite, SyncRecord)
    }


def test_imports_a_building_with_units_devices_tenants_and_invites(tmp_path):
    output = run(write(tmp_path / "haus.csv", ROWS))

    building = Space.objects.get(parent=None)
    assert (building.name, building.category) == ("Haus Linde", "APARTMENT_BUILDING")
    assert building.address() == {
        "address_line_one": "Lindenweg 3",
        "address_line_two": "",
        "postcode": "10115",
        "city": "Berlin",
    }
    units = {u.name: u for u in Space.objects.filter(parent=building)}
    assert sorted(units) == ["Whg 1", "Whg 2", "Whg 3"]
    assert {u.category for u in units.values()} == {"FLAT"}
    assert units["Whg 1"].address()["city"] == "Berlin"  # from the building
    strom = Device.objects.get(external_device_id="MELO-1")
    assert (strom.space, strom.name, strom.medium, strom.device_type, strom.is_main_device) == (
        units["Whg 1"],
        "Strom",
        "ELECTRICITY",
        "SMART_METER",
        True,
    )
    gas = Device.objects.get(external_device_id="MELO-2")
    assert (gas.space, gas.medium, gas.device_type) == (units["Whg 2"], "GAS", "GAS_METER")
    assert not Device.objects.filter(space=units["Whg 3"]).exists()
    tenants = {t.email: t for t in TenantUser.objects.all()}
    assert tenants["bo@example.org"].unit == units["Whg 2"]
    assert tenants["bo@example.org"].name == "Bo"
    invites = {i.email: i for i in Invite.objects.all()}
    assert {e: (i.space, i.tenant, i.send_invite_email) for e, i in invites.items()} == {
        "anna@example.org": (units["Whg 1"], tenants["anna@example.org"], True),
        "bo@example.org": (units["Whg 2"], tenants["bo@example.org"], False),
        "cem@example.org": (units["Whg 3"], tenants["cem@example.org"], True),
    }

    assert summary_line(output, "buildings") == [1, 0, 0]
    assert summary_line(output, "units") == [3, 0, 0]
    assert summary_line(output, "devices") == [2, 0, 0]
    assert summary_line(output, "tenants") == [3, 0, 0]
    assert summary_line(output, "invites") == [3, 0, 0]
    # Zählerfreunde: 1 building + 3 units + 2 devices + 3 invites; Spark: the 3 tenants.
    assert "Rows marked for sync: 12" in output
    assert marked(Space) == {building.pk, *(u.pk for u in units.values())}
    assert marked(Device) == {strom.pk, gas.pk}
    assert marked(Invite) == {i.pk for i in invites.values()}
    assert SyncRecord.objects.count() == 12


def test_semicolons_bom_and_any_column_order(tmp_path):
    header = cells("Unit|City|building|postcode|address_line_one|category|tenant_name|tenant_email")
    header.append("device_name")  # and no external_device_id column
    rows = [
        cells("Laden|Zürich|Höfli|8004|Bäckerstraße 1|retail|Jörg|joerg@example.ch|Kasse"),
        cells("Dach|Zürich|Höfli|8004|Bäckerstraße 1||||"),
    ]
    path = write(tmp_path / "excel.csv", rows, header, delimiter=";", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    run(path)

    building = Space.objects.get(parent=None)
    assert (building.name, building.address_line_one, building.city) == (
        "Höfli",
        "Bäckerstraße 1",
        "Zürich",
    )
    assert dict(Space.objects.filter(parent=building).values_list("name", "category")) == {
        "Laden": "RETAIL",
        "Dach": "FLAT",
    }
    assert TenantUser.objects.get().name == "Jörg"
    assert Device.objects.get().name == "Kasse"


def test_a_bad_file_lists_every_error_and_writes_nothing(tmp_path):
    rows = [
        ROWS[0],
        cells("Haus Linde|Lindenweg 3|101|Berlin|Whg 2|Gas|MELO-2|wind||||"),
        cells("Haus Linde|Lindenweg 3|10115|Berlin|Whg 3|||||Cem|cem@|vielleicht"),
        cells("Haus Linde|Lindenweg 3|10115|Berlin|||MELO-4|||||"),
        cells("x" * 201 + "|Lindenweg 3|10115||Whg 1|||||||"),
    ]

    message, errors = run_failing(write(tmp_path / "bad.csv", rows))

    assert errors == [
        "row 3, postcode: Enter a postcode of 4 or 5 digits, e.g. 8004 or 10115.",
        "row 3, medium: Value 'WIND' is not a valid choice. "
        "Use one of: ELECTRICITY, GAS, WATER, HEATING.",
        "row 4, tenant_email: Enter a valid email address.",
        "row 4, send_invite_email: Enter true/false, yes/no, ja/nein or 1/0.",
        "row 5, unit: This field is required.",
        "row 5, device_name: Required when external_device_id is given.",
        "row 6, building: Ensure this value has at most 200 characters (it has 201).",
        "row 6, city: This field is required.",
    ]
    assert message == f"8 error(s) in {tmp_path / 'bad.csv'}; nothing was imported."
    assert counts() == dict.fromkeys(counts(), 0)


def test_rows_that_disagree_with_each_other_or_the_database(tmp_path):
    run(write(tmp_path / "first.csv", ROWS[:1]))  # Haus Linde / Whg 1 with MELO-1
    before = counts()
    header = cells("building|address_line_one|postcode|city|unit|device_name|external_device_id")
    rows = [
        ["Haus Eiche", "Eichenweg 1", "10115", "Berlin", "EG", "Strom", "MELO-7"],
        ["Haus Eiche", "Eichenweg 1", "10117", "Berlin", "OG", "Strom", "MELO-8"],
        ["Haus Eiche", "Eichenweg 1", "10115", "Berlin", "EG", "Strom", "MELO-9"],
        ["Haus Eiche", "Eichenweg 1", "10115", "Berlin", "DG", "Strom", "MELO-7"],
        ["Haus Eiche", "Eichenweg 1", "10115", "Berlin", "KG", "Strom", "MELO-1"],
        ["Whg 1", "Lindenweg 3", "10115", "Berlin", "A", "", ""],
    ]

    _, errors = run_failing(write(tmp_path / "second.csv", rows, header))

    assert errors == [
        'row 3, postcode: differs from row 2 of building "Haus Eiche" ("10117" here, '
        '"10115" there); a building has one address.',
        'row 4, unit: "EG" is already in row 2 of building "Haus Eiche".',
        'row 5, external_device_id: "MELO-7" is already the device of row 2.',
        'row 7, building: "Whg 1" is a unit of building "Haus Linde" in the portal, '
        "not a building.",
    ]
    assert counts() == before


def test_a_device_listed_under_another_unit_moves_there(tmp_path):
    run(write(tmp_path / "first.csv", ROWS[:1]))  # Haus Linde / Whg 1 with MELO-1
    meter = Device.objects.get(external_device_id="MELO-1")
    meter.sync_records.update(state=SyncRecord.State.SYNCED, remote_id="zf-device-1")
    header = cells("building|address_line_one|postcode|city|unit|device_name|external_device_id")
    moved = [["Haus Linde", "Lindenweg 3", "10115", "Berlin", "Whg 2", "Strom", "MELO-1"]]

    run(write(tmp_path / "moved.csv", moved, header))

    assert Device.objects.filter(external_device_id="MELO-1").count() == 1  # not duplicated
    meter.refresh_from_db()
    assert str(meter.space) == "Haus Linde / Whg 2"
    row = meter.sync_records.get()  # the platforms are told: the engine moves it there
    assert row.state == SyncRecord.State.PENDING and row.remote_id == "zf-device-1"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["building", "address_line_one", "city", "unit"], ["row 1, postcode: Missing required"]),
        (
            ["building", "address_line_one", "postcode", "city", "unit", "etage", "Zimmer"],
            ["row 1, etage: Unknown column", "row 1, zimmer: Unknown column"],
        ),
        (["building", "address_line_one", "postcode", "city", "unit", "unit"],
         ["row 1, unit: This column is named twice"]),
    ],
)  # fmt: skip
def test_a_bad_header_is_refused(tmp_path, header, expected):
    path = write(tmp_path / "header.csv", [["Haus", "Weg 1", "10115", "Berlin", "1"]], header)
    message, lines = run_failing(path)
    assert "nothing was imported" in message
    for line in expected:
        assert any(shown.startswith(line) for shown in lines), lines
    assert Space.objects.count() == 0


def test_a_missing_column_does_not_hide_the_rows_errors(tmp_path):
    header = ["building", "address_line_one", "city", "unit", "tenant_name", "tenant_email"]
    path = write(
        tmp_path / "both.csv", [["Haus", "Weg 1", "Berlin", "1", "Ann", "not-mail"]], header
    )
    _, lines = run_failing(path)
    assert any(line.startswith("row 1, postcode: Missing required column") for line in lines)
    assert any(line.startswith("row 2, tenant_email:") for line in lines), lines
    assert not any("row 2, postcode" in line for line in lines)  # said once, in row 1


def test_importing_the_same_file_again_changes_nothing(tmp_path):
    path = write(tmp_path / "haus.csv", ROWS)
    run(path)
    settle_sync()
    records = list(SyncRecord.objects.order_by("pk").values_list("pk", "state", "updated_at"))
    stamps = {
        model: list(model.objects.order_by("pk").values_list("updated_at", flat=True))
        for model in (Space, Device, TenantUser, Invite)
    }

    output = run(path)

    assert summary_line(output, "buildings") == [0, 0, 1]
    assert summary_line(output, "units") == [0, 0, 3]
    assert summary_line(output, "devices") == [0, 0, 2]
    assert summary_line(output, "tenants") == [0, 0, 3]
    assert summary_line(output, "invites") == [0, 0, 3]
    assert "Rows marked for sync: 0" in output
    assert list(SyncRecord.objects.order_by("pk").values_list("pk", "state", "updated_at")) == (
        records
    )
    for model, before in stamps.items():
        assert list(model.objects.order_by("pk").values_list("updated_at", flat=True)) == before


def test_a_changed_row_updates_and_marks_only_what_changed(tmp_path):
    run(write(tmp_path / "haus.csv", ROWS))
    settle_sync()
    changed = [list(row) for row in ROWS]
    changed[1][8] = "SMART_METER"  # Whg 2's gas meter: a new device type
    changed[2][9] = "Cem Çay"  # Whg 3's tenant: a corrected name

    output = run(write(tmp_path / "changed.csv", changed))

    gas = Device.objects.get(external_device_id="MELO-2")
    assert gas.device_type == "SMART_METER"
    assert TenantUser.objects.get(email="cem@example.org").name == "Cem Çay"
    assert summary_line(output, "devices") == [0, 1, 1]
    assert summary_line(output, "tenants") == [0, 1, 2]
    assert summary_line(output, "units") == [0, 0, 3]
    # The device on Zählerfreunde, the tenant on Spark (which gets no personal data, so
    # the corrected name sends nothing there).
    assert "Rows marked for sync: 2" in output
    assert marked(Device) == {gas.pk}
    assert marked(Space) == marked(Invite) == set()
    assert Device.objects.get(external_device_id="MELO-1").updated_at < gas.updated_at


def test_a_new_address_updates_the_building_and_resends_its_units(tmp_path):
    run(write(tmp_path / "haus.csv", ROWS))
    settle_sync()
    moved = [[*row[:3], "Potsdam", *row[4:]] for row in ROWS]

    output = run(write(tmp_path / "moved.csv", moved))

    building = Space.objects.get(parent=None)
    assert building.city == "Potsdam"
    assert summary_line(output, "buildings") == [0, 1, 0]
    assert summary_line(output, "units") == [0, 0, 3]
    # Units are sent with their building's address, as services.save does.
    assert marked(Space) == set(Space.objects.values_list("pk", flat=True))
    assert marked(Device) == marked(Invite) == set()
    assert "Rows marked for sync: 4" in output


def test_a_device_is_found_by_its_external_id_and_a_new_unit_and_tenant_are_added(tmp_path):
    run(write(tmp_path / "haus.csv", ROWS))
    settle_sync()
    rows = [list(row) for row in ROWS]
    rows[0][5] = "Hauptzähler"  # renamed; MELO-1 still says which device it is
    rows.append(cells("Haus Linde|Lindenweg 3|10115|Berlin|Whg 4|Strom|MELO-4|||Dora|dora@x.org|"))

    output = run(write(tmp_path / "more.csv", rows))

    melo1 = Device.objects.get(external_device_id="MELO-1")
    assert melo1.name == "Hauptzähler"
    assert Device.objects.count() == 3
    assert summary_line(output, "units") == [1, 0, 3]
    assert summary_line(output, "devices") == [1, 1, 1]
    whg4 = Space.objects.get(name="Whg 4")
    assert marked(Space) == {whg4.pk}
    assert marked(Device) == {melo1.pk, Device.objects.get(external_device_id="MELO-4").pk}
    assert marked(Invite) == {Invite.objects.get(email="dora@x.org").pk}


def test_tenant_and_invite_e_mails_follow_the_same_rules():
    """The importer validates the address once, as the tenant's: the fields must agree."""
    tenant, invite = TenantUser._meta.get_field("email"), Invite._meta.get_field("email")
    assert (type(tenant), tenant.max_length, tenant.validators) == (
        type(invite),
        invite.max_length,
        invite.validators,
    )


def units_csv(path, building: str, units: int):
    rows = [
        cells(
            f"{building}|Weg 1|10115|Berlin|Whg {i}|Strom|{building}-{i}|||Mieter {i}|m{i}@x.org|"
        )
        for i in range(units)
    ]
    return write(path, rows)


def queries_for(path) -> tuple[int, int]:
    """(statements other than INSERT, INSERT statements) the import ran."""
    with CaptureQueriesContext(connection) as queries:
        run(path)
    inserts = sum(q["sql"].lstrip().upper().startswith("INSERT") for q in queries)
    return len(queries) - inserts, inserts


def test_the_number_of_queries_does_not_grow_with_the_rows(tmp_path):
    # Reads and updates stay flat; INSERTs grow only by bulk batch (SQLite binds at most
    # 999 parameters per statement, so about 50 sync rows go per INSERT).
    run(units_csv(tmp_path / "warm.csv", "Warm", 1))  # content types cached, etc.
    small, large = units_csv(tmp_path / "5.csv", "A", 5), units_csv(tmp_path / "50.csv", "B", 50)

    (small_other, small_inserts), (large_other, large_inserts) = map(queries_for, (small, large))
    assert small_other == large_other
    # 200 sync rows (Zählerfreunde's 150, Spark's 50 tenants): a few batches, not 200.
    assert large_inserts <= small_inserts + 4
    # Again, now that both buildings exist: loading them and comparing stays flat too.
    assert queries_for(small) == queries_for(large)
    assert Space.objects.filter(parent__name="B").count() == 50


# --- limits (issue 6, item 23) -----------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused(tmp_path, settings):
    path = write(tmp_path / "big.csv", ROWS)
    settings.IMPORT_MAX_BYTES = 200
    message, _ = run_failing(path)
    size = path.stat().st_size
    assert size > 200
    assert message == (
        f"{path} is {size / 1048576:.1f} MB; the limit is 0.0 MB (IMPORT_MAX_BYTES). "
        "Split it into several files (by building)."
    )
    assert counts()["Space"] == 0


def test_a_file_with_a_nul_byte_is_refused_with_its_line(tmp_path):
    path = write(tmp_path / "nul.csv", [ROWS[0], [ROWS[1][0] + "\x00", *ROWS[1][1:]], ROWS[2]])
    message, _ = run_failing(path)
    assert message.startswith(f"Line 3 of {path} holds a NUL byte")
    assert counts()["Space"] == 0


def test_a_cell_over_the_csv_limit_is_refused_with_its_line(tmp_path):
    huge = "x" * (csv.field_size_limit() + 1)
    path = write(tmp_path / "huge.csv", [ROWS[0], [*ROWS[1][:4], huge, *ROWS[1][5:]]])
    message, _ = run_failing(path)
    assert message.startswith(
        f"Line 3: a cell is longer than {csv.field_size_limit():,} characters, the csv "
        "module's limit"
    )
    assert counts()["Space"] == 0


def test_an_unclosed_quote_is_named_too(tmp_path):
    path = tmp_path / "quote.csv"
    lines = [",".join(HEADER), ",".join(ROWS[0])]
    lines.append('Haus Linde,Lindenweg 3,10115,Berlin,"Whg 9' + "\n" + "y" * 140_000)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message, _ = run_failing(path)
    assert "the csv module's limit (an unclosed quote" in message
    assert message.startswith("Line ")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("building", '=HYPERLINK("http://evil.example","Haus")'),
        ("unit", "+1+cmd|' /C calc'!A0"),
        ("device_name", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("tenant_name", "-2+3+cmd|' /C calc'!A0"),
        ("external_device_id", "=1+1"),
        ("address_line_one", "=A1"),
        ("city", "@evil"),
    ],
)
def test_cells_beginning_like_a_formula_are_refused(tmp_path, column, value):
    row = dict(zip(HEADER, ROWS[0], strict=True)) | {column: value}
    message, lines = run_failing(write(tmp_path / "formula.csv", [list(row.values())]))
    assert (
        f'row 2, {column}: begins with "{value[0]}", which a spreadsheet would run as a formula'
        in ("\n".join(lines))
    )
    assert message.startswith("1 error(s)")
    assert counts()["Space"] == 0


def test_a_plain_negative_number_is_no_formula(tmp_path):
    row = dict(zip(HEADER, ROWS[0], strict=True)) | {"unit": "-1"}
    run(write(tmp_path / "basement.csv", [list(row.values())]))
    assert Space.objects.filter(name="-1", parent__name="Haus Linde").exists()
