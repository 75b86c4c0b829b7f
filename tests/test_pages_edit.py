"""Day-to-day work in the pages (Django's test client): edit, move a device, delete with
the per-platform confirmation, change of tenant, discard; and query counts that do not
grow with the number of units."""

import datetime

import pytest
from django.utils import translation

from onboarding.models import Device, Invite, Space, SyncRecord, Tenancy, TenantUser, Wizard
from tests import pages_helpers
from tests.factories import building, device, tenant_with_invite, unit
from tests.test_pages_views import many_units, queries_for

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
viewer_user, viewer = pages_helpers.viewer_user, pages_helpers.viewer
pytestmark = pytest.mark.django_db
State = SyncRecord.State


def settle(*objs):
    for obj in objs:
        obj.sync_records.update(state=State.SYNCED, remote_id=f"r-{type(obj).__name__}-{obj.pk}")


def text(response) -> str:
    return response.content.decode()


def test_a_unit_is_edited_in_the_pages_and_marked_for_sync(staff):
    flat = unit(building(), "Flat 1")
    settle(flat.parent, flat)
    page = text(staff.get(f"/spaces/{flat.pk}/"))
    assert f'href="/edit/space/{flat.pk}/"' in page
    response = staff.post(
        f"/edit/space/{flat.pk}/",
        {"name": "Flat 1 left", "category": "FLAT", "address_line_two": "2nd floor"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/spaces/{flat.pk}/"
    flat.refresh_from_db()
    assert (flat.name, flat.address_line_two) == ("Flat 1 left", "2nd floor")
    assert flat.sync_records.get(provider="zaehlerfreunde").state == State.PENDING
    assert "Each platform&#x27;s state below updates by itself" in text(response)


def test_a_fixed_field_is_refused_before_saving_with_the_reason(staff):
    flat = unit(building(), "Flat 1")
    meter = device(flat, "Main meter", medium="ELECTRICITY")
    settle(flat.parent, flat, meter)
    response = staff.post(
        f"/edit/device/{meter.pk}/",
        {"space": flat.pk, "name": "Main meter", "medium": "GAS", "device_type": "SMART_METER"},
    )
    assert response.status_code == 200
    assert "cannot change a device&#x27;s medium" in text(response)
    meter.refresh_from_db()
    assert meter.medium == "ELECTRICITY"
    assert meter.sync_records.get(provider="zaehlerfreunde").state == State.SYNCED


def test_a_fixed_field_reason_is_in_the_pages_language(staff):
    flat = unit(building(), "Flat 1")
    meter = device(flat, "Main meter", medium="ELECTRICITY")
    settle(flat.parent, flat, meter)
    response = staff.post(
        f"/edit/device/{meter.pk}/",
        {"space": flat.pk, "name": "Main meter", "medium": "GAS", "device_type": "SMART_METER"},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    with translation.override("de"):
        expected = translation.gettext(
            "Zählerfreunde cannot change a device's medium once it has the device: delete the "
            "device and add it again with the right medium."
        )
    assert expected != "" and "Zählerfreunde" in expected
    assert "cannot change a device" not in text(response)
    assert expected.split(":")[0].replace("'", "&#x27;") in text(response)


def test_a_device_moves_to_another_unit_of_its_building(staff):
    home = building()
    one, two = unit(home, "Flat 1"), unit(home, "Flat 2")
    other = unit(building("Elsewhere"), "Flat 9")
    meter = device(one, "Main meter", external_id="CH-MOVE-1")
    settle(home, one, two, meter)
    form = text(staff.get(f"/edit/device/{meter.pk}/"))
    assert "Flat 2" in form and "Flat 9" not in form  # only the building's units
    response = staff.post(
        f"/edit/device/{meter.pk}/",
        {"space": two.pk, "name": "Main meter", "medium": "ELECTRICITY",
         "device_type": "SMART_METER", "external_device_id": "CH-MOVE-1"},
    )  # fmt: skip
    assert response.status_code == 302
    meter.refresh_from_db()
    assert meter.space == two
    assert meter.sync_records.get(provider="zaehlerfreunde").state == State.PENDING
    refused = staff.post(
        f"/edit/device/{meter.pk}/",
        {"space": other.pk, "name": "Main meter", "medium": "ELECTRICITY",
         "device_type": "SMART_METER"},
    )  # fmt: skip
    assert refused.status_code == 200 and Device.objects.get().space == two


def test_delete_confirmation_says_what_happens_on_each_platform(staff):
    flat = unit(building(), "Flat 1")
    invite = tenant_with_invite(flat, "ben@example.org")
    settle(flat.parent, flat, invite, invite.tenant)
    page = text(staff.get(f"/delete/tenant/{invite.tenant.pk}/"))
    assert "<h2>Zählerfreunde</h2>" in page and "<h2>Volue Spark</h2>" in page
    assert "removed from the space if they accepted" in page
    assert "Their user there is deleted, after what hangs under it" in page
    response = staff.post(f"/delete/tenant/{invite.tenant.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/spaces/{flat.pk}/"
    rows = SyncRecord.objects.filter(operation=SyncRecord.Operation.DELETE)
    assert {r.content_type.model for r in rows} == {"tenantuser", "invite"}


def test_a_viewer_cannot_edit_or_delete(viewer):
    flat = unit(building(), "Flat 1")
    assert (
        viewer.post(f"/edit/space/{flat.pk}/", {"name": "X", "category": "FLAT"}).status_code == 403
    )
    assert viewer.post(f"/delete/space/{flat.pk}/").status_code == 403
    assert viewer.post(f"/spaces/{flat.pk}/change-tenant/", {}).status_code == 403
    assert Space.objects.get(pk=flat.pk).name == "Flat 1"


def test_change_of_tenant_ends_the_old_and_starts_the_wizard_at_the_tenant(staff):
    flat = unit(building(), "Flat 1")
    device(flat, "Main meter")
    invite = tenant_with_invite(flat, "ben@example.org")
    settle(flat.parent, flat, invite, invite.tenant)
    page = text(staff.get(f"/spaces/{flat.pk}/change-tenant/"))
    assert "removed from the space if they accepted" in page
    response = staff.post(
        f"/spaces/{flat.pk}/change-tenant/",
        {"leaving": [invite.tenant.pk], "moved_out": "2026-03-31", "moves_in": "2026-04-01"},
    )
    wizard = Wizard.objects.get()
    assert response["Location"] == f"/onboard/{wizard.pk}/step/3/"
    assert (wizard.unit, wizard.unit_is_new, wizard.moves_in_on) == (
        flat,
        False,
        datetime.date(2026, 4, 1),
    )
    assert TenantUser.objects.get().deletion_requested_at is not None
    assert Tenancy.objects.get().moved_out == datetime.date(2026, 3, 31)
    assert Device.objects.count() == 1  # the devices stay
    # The wizard from step 3: the new tenant, then the invite.
    step = staff.post(
        f"/onboard/{wizard.pk}/step/3/",
        {"action": "tenant", "token": "t1", "t-name": "Mia Muster", "t-email": "mia@example.org"},
    )
    assert step.status_code == 302
    mia = TenantUser.objects.get(email="mia@example.org")
    assert Tenancy.objects.get(tenant=mia).moved_in == datetime.date(2026, 4, 1)
    unit_page = text(staff.get(f"/spaces/{flat.pk}/"))
    history = unit_page.split("Tenancy history")[1]
    assert "ben@example.org" in history and "Mia Muster" in history and "31" in history


def test_move_out_date_after_move_in_is_refused(staff):
    flat = unit(building(), "Flat 1")
    response = staff.post(
        f"/spaces/{flat.pk}/change-tenant/", {"moved_out": "2026-03-31", "moves_in": "2026-03-01"}
    )
    assert response.status_code == 200 and not Wizard.objects.exists()
    assert "cannot move in before the move-out" in text(response)


def test_discard_page_says_what_was_created_where_and_removes_it(staff):
    flat = unit(building(), "Flat 1")
    device(flat, "Main meter")
    settle(flat.parent, flat)
    wizard = Wizard.objects.create(building=flat.parent, building_is_new=True, unit=flat, reached=2)
    assert f'href="/onboard/{wizard.pk}/discard/"' in text(staff.get("/onboard/"))
    page = text(staff.get(f"/onboard/{wizard.pk}/discard/"))
    assert "on Zählerfreunde" in page and "Main meter" in page
    staff.post(f"/onboard/{wizard.pk}/discard/", {"action": "remove"})
    assert not Wizard.objects.exists()
    assert Space.objects.filter(deletion_requested_at__isnull=False).count() == 2


def test_discard_and_keep(staff):
    flat = unit(building(), "Flat 1")
    wizard = Wizard.objects.create(building=flat.parent, building_is_new=True, unit=flat, reached=2)
    staff.post(f"/onboard/{wizard.pk}/discard/", {"action": "keep"})
    assert not Wizard.objects.exists() and Space.objects.count() == 2


def test_new_pages_queries_do_not_grow_with_units(staff):
    def pages(home):
        flat = home.units.first()
        meter = Device.objects.filter(space=flat).first()
        tenant = TenantUser.objects.filter(unit=flat).first()
        return [f"/spaces/{home.pk}/", f"/spaces/{flat.pk}/", f"/edit/device/{meter.pk}/",
                f"/edit/space/{flat.pk}/", f"/delete/tenant/{tenant.pk}/",
                f"/spaces/{flat.pk}/change-tenant/", f"/delete/space/{flat.pk}/"]  # fmt: skip

    small = many_units(2)
    for url in pages(small):
        staff.get(url)  # caches warmed
    counts = [queries_for(staff, url) for url in pages(small)]
    big = many_units(150)
    assert [queries_for(staff, url) for url in pages(big)] == counts


def test_invite_is_ended_when_its_tenant_is_deleted_in_the_pages(staff):
    flat = unit(building(), "Flat 1")
    invite = tenant_with_invite(flat, "ben@example.org")  # never sent anywhere
    staff.post(f"/delete/tenant/{invite.tenant.pk}/")
    assert not TenantUser.objects.exists() and not Invite.objects.exists()
