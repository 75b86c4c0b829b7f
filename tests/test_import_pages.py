"""The import page that guides: its columns, templates, every error of a file at once,
.xlsx as well as CSV, and previews kept in the database (never on disk), expired."""

import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from onboarding import importer, spreadsheets
from onboarding.models import Device, ImportPreview, Invite, Space
from tests import pages_helpers

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["building", "address_line_one", "postcode", "city", "unit", "device_name",
          "tenant_name", "tenant_email"]  # fmt: skip
ROWS = [
    ["Hof", "Weg 1", 8000, "Zürich", "Flat 1", "Main meter", "Ann", "ann@example.org"],
    ["Hof", "Weg 1", 8000, "Zürich", "Flat 2", "Main meter", "Ben", "ben@example.org"],
]


def post_file(client, name: str, data: bytes, kind: str):
    file = SimpleUploadedFile(name, data, content_type=kind)
    return client.post("/import/", {"action": "preview", "file": file})


def upload_id(response) -> str:
    return response.content.decode().split('name="upload" value="')[1].split('"')[0]


def test_the_page_lists_the_columns_and_offers_templates(staff):
    page = staff.get("/import/").content.decode()
    for column in (*importer.COLUMNS, "meter_point_id", "vehicle_vin", "resource_model"):
        assert f"<code>{column}</code>" in page
    assert 'href="/import/template.xlsx"' in page and 'href="/import/template.csv"' in page


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_a_template_is_itself_a_file_the_import_takes(staff, tmp_path, extension):
    response = staff.get(f"/import/template.{extension}")
    assert response.status_code == 200
    assert f'filename="building-import.{extension}"' in response["Content-Disposition"]
    columns, rows, errors = importer.read_table(
        spreadsheets.Upload(f"t.{extension}", response.content)
    )
    assert set(importer.COLUMNS) <= set(columns)
    [(_, cells)] = rows
    assert cells["building"] == "Lindenhof" and cells["postcode"] == "8004"
    assert errors == [] and columns == list(importer.COLUMNS)  # it imports as it is


def test_an_xlsx_is_previewed_then_imported_and_nothing_is_left_on_disk(staff, settings):
    data = spreadsheets.write_xlsx(HEADER, ROWS)
    response = post_file(staff, "homes.xlsx", data, XLSX)
    html = response.content.decode()
    assert "The file is valid" in html and Space.objects.count() == 0
    preview = ImportPreview.objects.get()
    assert bytes(preview.data) == data and preview.uploaded_by == "olivia"
    assert not Path(settings.VAR_DIR, "imports").exists() or not any(
        Path(settings.VAR_DIR, "imports").iterdir()
    )
    done = staff.post("/import/", {"action": "confirm", "upload": upload_id(response)})
    assert done["Location"] == "/import/done/"
    assert Space.objects.count() == 3 and Invite.objects.count() == 2
    assert Device.objects.count() == 2
    assert not ImportPreview.objects.exists()  # confirmed: gone


def test_an_xlsx_gets_the_same_checks_every_error_at_once(staff):
    bad = [["Hof", "Weg 1", "80", "Zürich", "Flat 1", '=HYPERLINK("x")', "Ann", "not-mail"]]
    header = [c for c in HEADER if c != "city"] + ["etage"]
    rows = [[v for i, v in enumerate(r) if HEADER[i] != "city"] + ["2"] for r in bad]
    html = post_file(staff, "bad.xlsx", spreadsheets.write_xlsx(header, rows), XLSX)
    html = html.content.decode()
    assert "nothing was imported" in html
    for column in ("city", "etage", "postcode", "device_name", "tenant_email"):
        assert f"<code>{column}</code>" in html, column
    assert "formula" in html
    assert not ImportPreview.objects.exists() and Space.objects.count() == 0


def test_a_file_that_is_no_workbook_says_so(staff):
    html = post_file(staff, "broken.xlsx", b"PK\x03\x04 not really", XLSX).content.decode()
    assert "not an Excel workbook" in html and "nothing was imported" in html.lower()


def test_an_xlsx_over_the_limit_is_refused(staff, settings):
    settings.IMPORT_MAX_BYTES = 2000
    data = spreadsheets.write_xlsx(HEADER, ROWS)
    html = post_file(staff, "big.xlsx", data, XLSX).content.decode()
    assert "IMPORT_MAX_BYTES" in html and not ImportPreview.objects.exists()


def test_an_expired_preview_cannot_be_confirmed_and_is_deleted(staff):
    response = post_file(staff, "homes.xlsx", spreadsheets.write_xlsx(HEADER, ROWS), XLSX)
    ImportPreview.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    late = staff.post("/import/", {"action": "confirm", "upload": upload_id(response)})
    assert "expired" in late.content.decode() and Space.objects.count() == 0
    assert not ImportPreview.objects.exists()


def test_another_user_cannot_confirm_my_preview(staff, client):
    response = post_file(staff, "homes.xlsx", spreadsheets.write_xlsx(HEADER, ROWS), XLSX)
    other = pages_helpers.make_user("oscar", pages_helpers.ONBOARDING_STAFF)
    client.force_login(other)
    refused = client.post("/import/", {"action": "confirm", "upload": upload_id(response)})
    assert "expired or is gone" in refused.content.decode() and Space.objects.count() == 0


def test_beat_deletes_expired_previews_without_a_page_view(staff):
    from onboarding.page_tasks import forget_expired_import_previews

    post_file(staff, "homes.xlsx", spreadsheets.write_xlsx(HEADER, ROWS), XLSX)
    post_file(staff, "later.xlsx", spreadsheets.write_xlsx(HEADER, ROWS), XLSX)
    ImportPreview.objects.filter(filename="homes.xlsx").update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert forget_expired_import_previews() == 1
    assert list(ImportPreview.objects.values_list("filename", flat=True)) == ["later.xlsx"]
