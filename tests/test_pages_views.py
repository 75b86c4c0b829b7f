"""The pages through Django's test client: whole pages and fragments, validation in
place, permissions, the wizard's tokens, the import, and queries that do not grow."""

import re
import uuid

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onboarding import services
from onboarding.models import Device, Invite, InviteEmail, Space, SyncRecord, TenantUser, Wizard
from onboarding.sync import outbox
from tests import pages_helpers
from tests.factories import building, building_with_units, unit
from tests.pages_helpers import HX

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
viewer_user, viewer = pages_helpers.viewer_user, pages_helpers.viewer
pytestmark = pytest.mark.django_db


def fragment(target):
    return {**HX, "HTTP_HX_TARGET": target}


# --- dashboard --------------------------------------------------------------------------


def many_units(count: int) -> Space:
    home = building(f"Block {count}")
    units = Space.objects.bulk_create(
        Space(name=f"Flat {i}", parent=home, category="FLAT") for i in range(count)
    )
    devices = Device.objects.bulk_create(
        Device(space=u, name="Meter", external_device_id=f"M-{count}-{i}")
        for i, u in enumerate(units)
    )
    tenants = TenantUser.objects.bulk_create(
        TenantUser(unit=u, name=f"T{i}", email=f"t{i}@example.org") for i, u in enumerate(units)
    )
    outbox.mark_pending([*units, *devices, *tenants])
    return home


def queries_for(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **headers).status_code == 200
    return len(queries)


def test_dashboard_queries_do_not_grow_with_units(staff):
    many_units(1)
    staff.get("/")  # caches warmed (content types, the session), as in a running portal
    one = queries_for(staff, "/")
    one_fragment = queries_for(staff, "/", **fragment("buildings"))
    SyncRecord.objects.all().delete()
    Space.objects.all().delete()
    many_units(200)
    assert queries_for(staff, "/") == one
    assert queries_for(staff, "/", **fragment("buildings")) == one_fragment


def test_buildings_fragment_reads_only_the_buildings(staff):
    # The fragment htmx polls every 3 s while rows are on their way: what needs attention,
    # when its trouble began and the objects we do not know are not in it.
    home = many_units(3)
    row = SyncRecord.objects.filter(object_id=home.units.first().pk).first()
    row.state, row.last_error = SyncRecord.State.FAILED, "HTTP 400: postcode must have 5 digits"
    row.save()
    staff.get("/")  # caches warmed
    with CaptureQueriesContext(connection) as page:
        whole = staff.get("/").content.decode()
    with CaptureQueriesContext(connection) as polled:
        part = staff.get("/", **fragment("buildings")).content.decode()
    assert "Needs attention" in whole and "Needs attention" not in part
    assert "HTTP 400: postcode must have 5 digits" in part  # the unit's badge says why
    for table in ("onboarding_apicall", "onboarding_drift"):
        assert any(table in q["sql"] for q in page.captured_queries), table
        assert not any(table in q["sql"] for q in polled.captured_queries), table


def test_object_page_queries_do_not_grow_with_units(staff):
    small, big = many_units(1), many_units(200)
    staff.get(f"/spaces/{small.pk}/")  # caches warmed
    assert queries_for(staff, f"/spaces/{small.pk}/") == queries_for(staff, f"/spaces/{big.pk}/")


def test_dashboard_shows_each_platforms_state_in_words(staff):
    home = building_with_units(2)
    flat = home.units.get(name="Flat 1")
    row = SyncRecord.objects.get(object_id=flat.pk, content_type__model="space")
    row.state, row.last_error = SyncRecord.State.FAILED, "HTTP 400: postcode must have 5 digits"
    row.save()
    page = staff.get("/").content.decode()
    assert "Zählerfreunde" in page
    assert "HTTP 400: postcode must have 5 digits" in page  # the platform's reason
    assert "Needs attention" in page and "(1)" in page


def test_dashboard_shows_each_buildings_own_badge(staff):
    home = building_with_units(1)
    row = SyncRecord.objects.get(object_id=home.pk, content_type__model="space")
    row.state, row.last_error = SyncRecord.State.FAILED, "HTTP 400: street is required"
    row.save()
    page = staff.get("/", **fragment("buildings")).content.decode()
    building_row = re.search(r'<tr class="building">.*?</tr>', page, re.S).group(0)
    assert "Zählerfreunde" in building_row and "failed" in building_row
    assert "HTTP 400: street is required" in building_row


def test_dashboard_filters_and_search(staff):
    building_with_units(2)
    other = building("Eichhof", address_line_one="Eichweg 2")
    unit(other, "Loft")
    by_search = staff.get("/?q=Loft", **fragment("buildings")).content.decode()
    assert "Eichhof" in by_search and "Lindenhof" not in by_search
    by_tenant = staff.get("/?q=tenant2", **fragment("buildings")).content.decode()
    assert "Flat 2" in by_tenant and "Flat 1" not in by_tenant
    by_building = staff.get(f"/?building={other.pk}", **fragment("buildings")).content.decode()
    assert "Eichhof" in by_building and "Lindenhof" not in by_building
    flat = Space.objects.get(name="Flat 1")
    SyncRecord.objects.filter(object_id=flat.pk, content_type__model="space").update(
        state=SyncRecord.State.NEEDS_ATTENTION
    )
    by_state = staff.get(
        "/?state=needs_attention&platform=zaehlerfreunde", **fragment("buildings")
    ).content.decode()
    assert "Flat 1" in by_state and "Flat 2" not in by_state and "Loft" not in by_state
    bad = staff.get("/?state=nonsense")
    assert bad.status_code == 200  # an unknown filter is ignored, not an error


def test_dashboard_pages(staff):
    for i in range(25):
        building(f"House {i:02d}", address_line_one=f"Weg {i}")
    first = staff.get("/", **fragment("buildings")).content.decode()
    assert "House 00" in first and "House 24" not in first and "Page 1 of 2" in first
    second = staff.get("/?page=2", **fragment("buildings")).content.decode()
    assert "House 24" in second and "House 00" not in second


def test_dashboard_polls_only_while_something_is_in_flight(staff):
    building_with_units(1)
    assert b'hx-trigger="every 3s"' in staff.get("/", **fragment("buildings")).content
    SyncRecord.objects.update(state=SyncRecord.State.SYNCED, remote_id="r")
    assert b'hx-trigger="every 3s"' not in staff.get("/", **fragment("buildings")).content


def test_retry_sends_a_failed_row_again(staff):
    home = building()
    row = SyncRecord.objects.get(object_id=home.pk)
    SyncRecord.objects.filter(pk=row.pk).update(
        state=SyncRecord.State.NEEDS_ATTENTION, attempts=6, last_error="boom"
    )
    response = staff.post("/sync/retry/", {"row": row.pk, "next": f"/spaces/{home.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/spaces/{home.pk}/"
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (SyncRecord.State.PENDING, 0, "")


def test_retry_refuses_an_outside_next(staff):
    response = staff.post("/sync/retry/", {"row": 1, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_object_pages_show_remote_id_error_and_calls(staff):
    home = building_with_units(1)
    flat = home.units.get()
    SyncRecord.objects.filter(object_id=flat.pk, content_type__model="space").update(
        state=SyncRecord.State.FAILED, remote_id="zf-42", last_error="HTTP 422: bad category"
    )
    page = staff.get(f"/spaces/{flat.pk}/").content.decode()
    assert "zf-42" in page and "HTTP 422: bad category" in page and "Retry on Zählerfreunde" in page
    device = flat.devices.get()
    assert staff.get(f"/devices/{device.pk}/").status_code == 200
    tenant = flat.tenants.get()
    assert staff.get(f"/tenants/{tenant.pk}/").status_code == 200
    assert staff.get("/spaces/999999/").status_code == 404


# --- the wizard -------------------------------------------------------------------------


def start(client) -> Wizard:
    token = uuid.uuid4()
    response = client.post("/onboard/", {"token": token})
    assert response.status_code == 302
    return Wizard.objects.get(pk=token)


def step_url(wizard, n):
    return f"/onboard/{wizard.pk}/step/{n}/"


SPACE = {
    "pick-building": "",
    "b-name": "Sonnenhof",
    "b-category": "APARTMENT_BUILDING",
    "b-address_line_one": "Sonnenweg 1",
    "b-postcode": "3000",
    "b-city": "Bern",
    "u-name": "Flat 7",
    "u-category": "FLAT",
    "u-is_participating_in_ltt_project": "false",
}


def test_starting_twice_with_one_token_opens_one_wizard(staff):
    token = uuid.uuid4()
    staff.post("/onboard/", {"token": token})
    staff.post("/onboard/", {"token": token})
    assert Wizard.objects.count() == 1


def test_step_one_errors_come_back_in_place_and_nothing_is_saved(staff):
    wizard = start(staff)
    response = staff.post(
        step_url(wizard, 1),
        {**SPACE, "b-postcode": "", "token": uuid.uuid4()},
        **fragment("step-body"),
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_b-postcode_errors' in html
    assert 'id="id_b-postcode_errors"' in html
    assert Space.objects.count() == 0 and SyncRecord.objects.count() == 0


def test_step_one_saves_once_whatever_the_clicks(staff):
    wizard = start(staff)
    token = uuid.uuid4()
    first = staff.post(step_url(wizard, 1), {**SPACE, "token": token}, **fragment("step-body"))
    assert first["HX-Location"] == step_url(wizard, 2)
    again = staff.post(step_url(wizard, 1), {**SPACE, "token": token}, **fragment("step-body"))
    assert again["HX-Location"] == step_url(wizard, 2)
    assert Space.objects.count() == 2
    wizard.refresh_from_db()
    assert (wizard.step, wizard.reached, wizard.unit.name) == (2, 2, "Flat 7")
    # A second tab with its own token changes the same unit, it does not add one.
    staff.post(step_url(wizard, 1), {**SPACE, "u-name": "Flat 8", "token": uuid.uuid4()})
    assert Space.objects.count() == 2 and Space.objects.filter(name="Flat 8").exists()


def test_a_step_not_reached_yet_sends_back_to_the_last_one(staff):
    wizard = start(staff)
    assert staff.get(step_url(wizard, 4))["Location"] == step_url(wizard, 1)
    assert staff.get(f"/onboard/{wizard.pk}/")["Location"] == step_url(wizard, 1)


def test_back_keeps_what_was_typed_and_resume_returns_to_the_step(staff):
    wizard = start(staff)
    staff.post(step_url(wizard, 1), {**SPACE, "token": uuid.uuid4()})
    staff.post(step_url(wizard, 2), {"action": "back", "d-name": "Half-typed meter"})
    wizard.refresh_from_db()
    assert wizard.step == 1
    assert staff.get(f"/onboard/{wizard.pk}/")["Location"] == step_url(wizard, 1)
    page = staff.get(step_url(wizard, 1)).content.decode()
    assert 'value="Flat 7"' in page  # what was saved
    assert 'value="Half-typed meter"' in staff.get(step_url(wizard, 2)).content.decode()


def walk_to_devices(client) -> Wizard:
    wizard = start(client)
    client.post(step_url(wizard, 1), {**SPACE, "token": uuid.uuid4()})
    wizard.refresh_from_db()
    return wizard


DEVICE = {"d-name": "Heat meter", "d-medium": "HEATING", "d-device_type": "HEATING_METER"}


def test_devices_by_hand_once_per_token_and_errors_in_place(staff):
    wizard = walk_to_devices(staff)
    token = uuid.uuid4()
    for _ in range(2):
        response = staff.post(
            step_url(wizard, 2),
            {**DEVICE, "action": "add", "token": token},
            **fragment("step-body"),
        )
        assert response.status_code == 200 and b"Heat meter" in response.content
    assert Device.objects.count() == 1
    duplicate = staff.post(
        step_url(wizard, 2),
        {**DEVICE, "action": "add", "token": uuid.uuid4()},
        **fragment("step-body"),
    )
    assert "already has a device of that name" in duplicate.content.decode()
    assert Device.objects.count() == 1


def test_devices_picked_from_the_catalogue_are_marked_and_not_pickable_twice(staff):
    from django.utils import timezone

    from onboarding.catalogue.models import CatalogueEntry

    now = timezone.now()
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id="sm-1", name="W1 Strom", serial="123",
        medium="electricity", first_seen=now, last_seen=now,
    )  # fmt: skip
    wizard = walk_to_devices(staff)
    found = staff.get(step_url(wizard, 2) + "?picker=1&q=123", **fragment("catalogue"))
    assert b"W1 Strom" in found.content and b'value="pick"' in found.content
    staff.post(step_url(wizard, 2), {"action": "pick", "entry": entry.pk, "token": uuid.uuid4()})
    device = Device.objects.get()
    assert (device.name, device.smartme_device_id, device.serial_number) == (
        "W1 Strom",
        entry.pk,
        "123",
    )
    again = staff.get(step_url(wizard, 2) + "?picker=1&q=123", **fragment("catalogue"))
    assert b"linked to" in again.content and b'value="pick"' not in again.content
    staff.post(step_url(wizard, 2), {"action": "pick", "entry": entry.pk, "token": uuid.uuid4()})
    assert Device.objects.count() == 1


def walk_to_invite(client) -> Wizard:
    wizard = walk_to_devices(client)
    client.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    client.post(
        step_url(wizard, 3),
        {"action": "tenant", "t-name": "Mia", "t-email": "mia@example.org", "token": uuid.uuid4()},
    )
    client.post(step_url(wizard, 3), {"action": "next", "token": uuid.uuid4()})
    wizard.refresh_from_db()
    assert wizard.step == 4
    return wizard


def test_tenant_step_validates_and_needs_the_tenant_before_going_on(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    bad = staff.post(
        step_url(wizard, 3),
        {"action": "tenant", "t-name": "Mia", "t-email": "not-mail", "token": uuid.uuid4()},
        **fragment("step-body"),
    )
    assert "Enter a valid email address" in bad.content.decode()
    refused = staff.post(step_url(wizard, 3), {"action": "next", "token": uuid.uuid4()})
    assert "Save the tenant first" in refused.content.decode()
    assert TenantUser.objects.count() == 0


def test_invite_by_the_portal_previewed_sent_resent_and_recorded(staff):
    wizard = walk_to_invite(staff)
    staff.post(
        step_url(wizard, 4),
        {
            "action": "invite",
            "i-email": "mia@example.org",
            "i-how": "portal",
            "token": uuid.uuid4(),
        },
    )
    invite = Invite.objects.get()
    assert invite.send_invite_email is False
    page = staff.get(step_url(wizard, 4)).content.decode()
    assert "Waiting for Zählerfreunde to return the invite link" in page
    Invite.objects.filter(pk=invite.pk).update(
        invite_link="https://zf.example/invite/abc", status=Invite.Status.LINK_READY
    )
    german = staff.get(
        step_url(wizard, 4) + "?part=status&language=de", **fragment("invite-status")
    )
    assert "Ihre Einladung zu Ihren Energiedaten für Flat 7" in german.content.decode()
    token = uuid.uuid4()
    for _ in range(2):  # a double click sends once
        staff.post(step_url(wizard, 4), {"action": "send", "language": "en", "token": token})
    assert len(mail.outbox) == 1
    assert "https://zf.example/invite/abc" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Your invitation to see your energy data for Flat 7"
    staff.post(step_url(wizard, 4), {"action": "send", "language": "de", "token": uuid.uuid4()})
    assert len(mail.outbox) == 2 and InviteEmail.objects.count() == 2
    assert "Send the e-mail again" in staff.get(step_url(wizard, 4)).content.decode()


def test_a_refused_e_mail_is_recorded_and_said(staff, settings):
    settings.EMAIL_BACKEND = "tests.test_pages_views.RefusingBackend"
    wizard = walk_to_invite(staff)
    staff.post(
        step_url(wizard, 4),
        {
            "action": "invite",
            "i-email": "mia@example.org",
            "i-how": "portal",
            "token": uuid.uuid4(),
        },
    )
    Invite.objects.update(invite_link="https://zf.example/i/1", status=Invite.Status.LINK_READY)
    response = staff.post(
        step_url(wizard, 4),
        {"action": "send", "language": "en", "token": uuid.uuid4()},
        follow=True,
    )
    assert "The e-mail was not sent" in response.content.decode()
    assert InviteEmail.objects.get().error.startswith("ConnectionRefusedError")


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_done_step_lists_every_object_and_stops_polling_once_settled(staff):
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
    polling = staff.get(step_url(wizard, 5), **fragment("step-body")).content.decode()
    assert 'hx-trigger="every 2s"' in polling and "Sonnenhof" in polling and "Mia" in polling
    SyncRecord.objects.update(state=SyncRecord.State.SYNCED, remote_id="r")
    settled = staff.get(step_url(wizard, 5), **fragment("step-body")).content.decode()
    assert 'hx-trigger="every 2s"' not in settled and "Every platform has answered" in settled
    wizard.refresh_from_db()
    assert wizard.finished_at is not None


def test_invite_step_is_hidden_when_zaehlerfreunde_is_not_enabled(staff, settings):
    settings.PROVIDERS = ["smartme"]
    wizard = walk_to_devices(staff)
    assert SyncRecord.objects.count() == 0  # no platform takes spaces: nothing queued
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    staff.post(
        step_url(wizard, 3),
        {"action": "tenant", "t-name": "Mia", "t-email": "mia@example.org", "token": uuid.uuid4()},
    )
    response = staff.post(step_url(wizard, 3), {"action": "next", "token": uuid.uuid4()})
    assert response["Location"] == step_url(wizard, 5)
    assert "Invite" not in staff.get(step_url(wizard, 5)).content.decode().split("</ol>")[0]


def test_a_viewer_cannot_save_a_step(viewer, staff_user):
    wizard = services.start_wizard(uuid.uuid4(), "olivia")
    assert viewer.get(step_url(wizard, 1)).status_code == 200
    assert viewer.post(step_url(wizard, 1), {**SPACE, "token": uuid.uuid4()}).status_code == 403
    assert Space.objects.count() == 0


# --- the import -------------------------------------------------------------------------


def upload(client, text: str, **headers):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("homes.csv", text.encode(), content_type="text/csv")
    return client.post("/import/", {"action": "preview", "file": file}, **headers)


GOOD = (
    "building;address_line_one;postcode;city;unit;tenant_name;tenant_email\n"
    "Hof;Weg 1;8000;Zürich;Flat 1;Ann;ann@example.org\n"
    "Hof;Weg 1;8000;Zürich;Flat 2;Ben;ben@example.org\n"
)


def test_import_preview_lists_every_bad_row_and_imports_nothing(staff):
    bad = GOOD.replace("ben@example.org", "not-mail").replace("Flat 1;", ";")
    response = upload(staff, bad, **fragment("import"))
    html = response.content.decode()
    assert "2 errors in the file; nothing was imported" in html
    assert (
        "<td>2</td><td><code>unit</code>" in html
        and "<td>3</td><td><code>tenant_email</code>" in html
    )
    assert Space.objects.count() == 0


def test_import_preview_then_confirm_then_watch(staff):
    response = upload(staff, GOOD)
    html = response.content.decode()
    assert "The file is valid" in html and Space.objects.count() == 0  # preview wrote nothing
    upload_id = html.split('name="upload" value="')[1].split('"')[0]
    done = staff.post("/import/", {"action": "confirm", "upload": upload_id})
    assert done["Location"] == "/import/done/"
    assert Space.objects.count() == 3 and Invite.objects.count() == 2
    page = staff.get("/import/done/").content.decode()
    assert "Hof" in page and "Zählerfreunde" in page and 'hx-trigger="every 2s"' in page
    gone = staff.post("/import/", {"action": "confirm", "upload": upload_id})
    assert "upload it again" in gone.content.decode()


def test_import_of_an_unreadable_file_says_why(staff):
    html = upload(staff, "nonsense;columns\n1;2\n").content.decode()
    assert "nothing was imported" in html and "Unknown column" in html
    assert "<code>building</code></td><td>Missing required column" in html  # all at once


def test_a_buildings_name_leads_to_its_page(staff):
    home = building("Sonnenhof")
    page = staff.get("/").content.decode()
    assert f'href="/spaces/{home.pk}/">Sonnenhof</a>' in page
