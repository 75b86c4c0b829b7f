"""German pages say the models' words in German: the wizard's tenant and done steps, an
object page's field names, a model's validation message and the importer's row
messages, the language chosen from the browser's Accept-Language."""

import uuid

import pytest

from onboarding.models import Space
from tests import pages_helpers
from tests.factories import building_with_units
from tests.test_pages_views import fragment, step_url, upload, walk_to_devices, walk_to_invite

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db
DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


def test_wizard_tenant_step_labels_in_german(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    staff.post(
        step_url(wizard, 3),
        {"action": "tenant", "t-name": "Mia", "t-email": "mia@example.org", "token": uuid.uuid4()},
    )
    page = staff.get(step_url(wizard, 3), **DE).content.decode()
    for german in ("Messpunkt-ID", "Die Messpunkt-ID (MeLo / Zählpunktnummer).", "Heimspeicher"):
        assert german in page
    for english in ("(required)", "Meter point id", "The metering point id", "Home battery"):
        assert english not in page


def test_wizard_done_step_names_each_kind_in_german(staff):
    wizard = walk_to_invite(staff)
    staff.post(
        step_url(wizard, 4),
        {
            "action": "invite",
            "i-email": "mia@example.org",
            "i-how": "platform",
            "token": uuid.uuid4(),
        },
    )
    staff.post(step_url(wizard, 4), {"action": "next", "token": uuid.uuid4()})
    page = staff.get(step_url(wizard, 5), **DE, **fragment("step-body")).content.decode()
    assert 'muted">Mieter:in</td>' in page and 'muted">Liegenschaft</td>' in page
    assert 'muted">Einladung</td>' in page
    for english in ("tenant user", 'muted">space</td>', 'muted">invite</td>'):
        assert english not in page
    english_page = staff.get(step_url(wizard, 5), **fragment("step-body")).content.decode()
    assert "tenant user" in english_page  # the same page in English still says it


def test_object_page_field_names_in_german(staff):
    flat = building_with_units(1).units.get()
    page = staff.get(f"/devices/{flat.devices.get().pk}/", **DE).content.decode()
    for german in ("Externe Geräte-ID", "Gerätetyp", "Seriennummer", "Angelegt am"):
        assert german in page
    for english in ("external device id", "device type", "serial number", "created at"):
        assert english not in page.lower()
    tenant_page = staff.get(f"/tenants/{flat.tenants.get().pk}/", **DE).content.decode()
    assert "Telefon" in tenant_page and "phone" not in tenant_page.lower()


def test_a_models_validation_message_in_german(staff):
    wizard = walk_to_devices(staff)
    # A building without its address is refused by Space.clean(): said in German.
    bad = staff.post(
        step_url(wizard, 1),
        {
            "pick-building": "",
            "b-name": "Ohne Adresse",
            "b-category": "APARTMENT_BUILDING",
            "b-postcode": "30",
            "u-name": "Wohnung 1",
            "u-category": "FLAT",
            "u-is_participating_in_ltt_project": "unknown",
            "token": uuid.uuid4(),
        },
        **DE,
        **fragment("step-body"),
    ).content.decode()
    assert "Geben Sie eine Postleitzahl mit 4 oder 5 Ziffern ein" in bad
    assert "Enter a postcode" not in bad


def test_importer_row_messages_in_german(staff):
    text = (
        "building;address_line_one;postcode;city;unit;tenant_name;tenant_email\n"
        "Hof;Weg 1;8000;Zürich;Flat 1;Ann;ann@example.org\n"
        "Hof;Weg 2;8000;Zürich;Flat 2;Ben;ben@example.org\n"
        "Hof;Weg 1;8000;Zürich;Flat 3;=Cem;cem@example.org\n"
    )
    html = upload(staff, text, **DE, **fragment("import")).content.decode()
    assert "weicht von Zeile 2 des Gebäudes „Hof“ ab" in html
    assert "beginnt mit „=“" in html
    assert "differs from row" not in html and "begins with" not in html
    assert Space.objects.count() == 0
    header = upload(staff, "nonsense;columns\n1;2\n", **DE).content.decode()
    assert "Unbekannte Spalten: nonsense, columns." in header
