"""The admin tells the truth before staff act (issue 6, items 16-21): edits a platform
cannot apply are refused with the reason, rows can be accepted as is, delete refusals come
before the confirmation page, sync badges sit next to the name in words and seconds,
models no enabled platform takes say so, the invite form takes the tenant's e-mail, and
a flat without its building is told that."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.timezone import localtime

from onboarding.models import Device, Invite, Meter, Space, SyncRecord, TenantUser, Vehicle
from providers import coverage

from .test_admin import building, make, messages_of, page, record, unit, url

pytestmark = pytest.mark.django_db
State = SyncRecord.State


def invite_in(space, email="anna@example.org", tenant=None, send=True) -> Invite:
    return Invite.objects.create(space=space, email=email, tenant=tenant, send_invite_email=send)


def invite_form(invite: Invite, **changes) -> dict:
    data = {
        "space": invite.space_id,
        "tenant": invite.tenant_id or "",
        "email": invite.email,
        "send_invite_email": "on" if invite.send_invite_email else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != "" or k in ("email", "tenant")}


def device_form(device: Device, **changes) -> dict:
    data = {
        "space": device.space_id,
        "name": device.name,
        "medium": device.medium,
        "device_type": device.device_type,
        "is_main_device": "on" if device.is_main_device else "",
        "external_device_id": device.external_device_id,
        "metering_location_id": device.metering_location_id,
        "serial_number": device.serial_number,
    }
    data.update(changes)
    if not data["is_main_device"]:
        del data["is_main_device"]
    return data


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


# --- 16: an edit the platform cannot apply is refused before saving --------------------


def test_an_invite_on_a_platform_refuses_an_e_mail_change_with_the_reason(admin_client):
    invite = invite_in(unit(building()))
    row = record(invite, State.SYNCED, remote_id="https://zf.example/i/1")

    response = admin_client.post(url(invite, "change"), invite_form(invite, email="new@x.org"))

    errors = form_errors(response)
    assert "Zählerfreunde cannot change an invite once made" in errors["email"][0]
    invite.refresh_from_db()
    row.refresh_from_db()
    assert invite.email == "anna@example.org"
    assert row.state == State.SYNCED  # not marked for a push that would only fail


@pytest.mark.parametrize(("field", "value"), [("send_invite_email", ""), ("space", "other unit")])
def test_an_invite_on_a_platform_refuses_other_fixed_changes(admin_client, field, value):
    home = building()
    invite = invite_in(unit(home))
    record(invite, State.SYNCED, remote_id="https://zf.example/i/1")
    if value == "other unit":
        value = unit(home).pk
    data = invite_form(invite, **{field: value})  # "" leaves the box unticked

    errors = form_errors(admin_client.post(url(invite, "change"), data))
    assert field in errors
    assert "Zählerfreunde" in errors[field][0]


def test_an_invite_no_platform_holds_yet_can_change_its_e_mail(admin_client):
    invite = invite_in(unit(building()))
    record(invite, State.FAILED, last_error="rejected")  # never created there
    response = admin_client.post(url(invite, "change"), invite_form(invite, email="new@x.org"))
    assert response.status_code == 302
    invite.refresh_from_db()
    assert invite.email == "new@x.org"


def test_an_invite_whose_create_had_no_answer_counts_as_on_the_platform(admin_client):
    invite = invite_in(unit(building()))
    record(invite, State.NEEDS_ATTENTION, outcome_unknown=True)
    response = admin_client.post(url(invite, "change"), invite_form(invite, email="new@x.org"))
    assert "email" in form_errors(response)


def test_the_change_form_says_which_fields_are_fixed_before_saving(admin_client):
    invite = invite_in(unit(building()))
    record(invite, State.SYNCED, remote_id="https://zf.example/i/1")
    text = page(admin_client.get(url(invite, "change")))
    assert "Fixed: Zählerfreunde cannot change an invite once made" in text

    device = make(Device)
    record(device, State.SYNCED, remote_id="dev-1")
    text = page(admin_client.get(url(device, "change")))
    assert escape("Fixed: Zählerfreunde cannot change a device's type") in text


@pytest.mark.parametrize(("field", "value"), [("device_type", "GAS_METER"), ("medium", "GAS")])
def test_a_device_on_the_platform_refuses_a_new_type_or_medium(admin_client, field, value):
    device = make(Device)
    row = record(device, State.SYNCED, remote_id="dev-1")
    response = admin_client.post(url(device, "change"), device_form(device, **{field: value}))
    errors = form_errors(response)
    assert (
        f"cannot change a device's {'type' if field == 'device_type' else 'medium'}"
        in (errors[field][0])
    )
    row.refresh_from_db()
    assert row.state == State.SYNCED
    device.refresh_from_db()
    assert getattr(device, field) != value


def test_a_device_on_the_platform_may_change_its_name(admin_client):
    device = make(Device)
    row = record(device, State.SYNCED, remote_id="dev-1")
    response = admin_client.post(url(device, "change"), device_form(device, name="Renamed"))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == State.PENDING


# --- 16: accepted as is ----------------------------------------------------------------


def test_staff_accept_a_row_as_is_from_the_object_list(admin_client, admin_user):
    invite = invite_in(unit(building()))
    row = record(
        invite, State.NEEDS_ATTENTION, remote_id="https://zf.example/i/1", attempts=3,
        last_error="Zählerfreunde cannot change an invite once made",
    )  # fmt: skip
    response = admin_client.post(
        url(Invite), {"action": "accept_as_is", "_selected_action": [invite.pk]}, follow=True
    )
    assert any("1 sync row accepted as is" in m for m in messages_of(response))
    row.refresh_from_db()
    assert row.state == State.SYNCED
    assert row.dismissed_by == admin_user.username
    assert timezone.now() - row.dismissed_at < timedelta(seconds=10)
    assert row.last_error == "Zählerfreunde cannot change an invite once made"  # kept

    change = page(admin_client.get(url(invite, "change")))
    assert f"Accepted as is by {admin_user.username}" in change
    assert "cannot change an invite once made" in change
    listing = page(admin_client.get(url(Invite)))
    assert "Zählerfreunde: Synced (accepted as is)" in listing
    outbox = page(admin_client.get(url(SyncRecord) + "?accepted=yes"))
    assert "Synced (accepted as is)" in outbox
    assert f"by {admin_user.username} at" in page(admin_client.get(url(row, "change")))


def test_staff_accept_as_is_from_the_outbox_and_a_later_save_sends_again(admin_client):
    device = make(Device)
    row = record(device, State.NEEDS_ATTENTION, remote_id="dev-1", last_error="stuck")
    response = admin_client.post(
        url(SyncRecord), {"action": "accept", "_selected_action": [row.pk]}, follow=True
    )
    assert any("accepted as is" in m for m in messages_of(response))
    row.refresh_from_db()
    assert row.state == State.SYNCED and row.dismissed_at is not None

    response = admin_client.post(url(device, "change"), device_form(device, name="Later"))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == State.PENDING
    assert row.dismissed_at is None and row.dismissed_by == ""


def test_only_changes_that_need_attention_can_be_accepted(admin_client):
    failed = record(make(Device), State.FAILED, last_error="bad postcode")
    deleting = record(
        make(Space), State.NEEDS_ATTENTION, remote_id="sp-1",
        operation=SyncRecord.Operation.DELETE,
    )  # fmt: skip
    waiting = record(
        make(Device), State.NEEDS_ATTENTION, waiting_for_parent=True,
        last_error="Waiting for Flat 1, which failed",
    )  # fmt: skip
    response = admin_client.post(
        url(SyncRecord),
        {"action": "accept", "_selected_action": [failed.pk, deleting.pk, waiting.pk]},
        follow=True,
    )
    assert any("3 selected sync rows left alone" in m for m in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == State.NEEDS_ATTENTION
    failed.refresh_from_db()
    deleting.refresh_from_db()
    assert failed.state == State.FAILED and failed.dismissed_at is None
    assert deleting.state == State.NEEDS_ATTENTION and deleting.dismissed_at is None


def test_a_create_that_others_wait_for_cannot_be_accepted(admin_client):
    home = building()
    row = record(home, State.NEEDS_ATTENTION, outcome_unknown=True, last_error="no answer")
    record(unit(home), State.PENDING, last_error="Waiting for it")
    invite = invite_in(unit(home))
    lone = record(invite, State.NEEDS_ATTENTION, outcome_unknown=True, last_error="ask")

    response = admin_client.post(
        url(SyncRecord), {"action": "accept", "_selected_action": [row.pk, lone.pk]}, follow=True
    )
    shown = messages_of(response)
    assert any("1 sync row accepted as is" in m for m in shown)
    assert any("nor a create that units or devices wait for" in m for m in shown)
    row.refresh_from_db()
    lone.refresh_from_db()
    assert row.state == State.NEEDS_ATTENTION
    assert lone.state == State.SYNCED  # the tenant said the e-mail came: nothing waits for it


# --- 17: delete refusals before the confirmation page ------------------------------------


def test_a_synced_invite_offers_delete_now_that_its_access_can_end(admin_client):
    invite = invite_in(unit(building()))
    record(invite, State.SYNCED, remote_id="https://zf.example/i/1")
    assert 'class="deletelink"' in page(admin_client.get(url(invite, "change")))
    assert "Are you sure" in page(admin_client.get(url(invite, "delete")))


def test_an_invite_no_platform_holds_can_be_deleted(admin_client):
    invite = invite_in(unit(building()))
    record(invite, State.PENDING)
    assert 'class="deletelink"' in page(admin_client.get(url(invite, "change")))
    assert "Are you sure" in page(admin_client.get(url(invite, "delete")))


def test_bulk_delete_of_invites_confirms_held_and_free_alike(admin_client):
    home = unit(building())
    held = invite_in(home, "held@example.org")
    record(held, State.SYNCED, remote_id="https://zf.example/i/1")
    free = invite_in(home, "free@example.org")

    response = admin_client.post(
        url(Invite), {"action": "delete_selected", "_selected_action": [held.pk, free.pk]}
    )
    assert response.status_code == 200
    assert "Are you sure" in page(response)
    assert sorted(obj.pk for obj in response.context["queryset"]) == sorted([held.pk, free.pk])


# --- 18: the sync column ------------------------------------------------------------------


@pytest.mark.parametrize("model", [Space, Device, TenantUser, Invite, Meter, Vehicle])
def test_the_sync_column_sits_next_to_the_name(admin_client, model):
    make(model)
    columns = list(admin_client.get(url(model)).context["cl"].list_display)
    assert columns.index("sync_summary") <= 3  # checkbox, name (brand, model), sync


def test_badges_use_labels_and_relative_retry_times(admin_client):
    device = make(Device)
    row = record(device, State.PENDING, attempts=1, last_error="Attempt 1 failed")
    SyncRecord.objects.filter(pk=row.pk).update(not_before=timezone.now() + timedelta(seconds=45))
    invite = invite_in(unit(building()))
    record(invite, State.IN_FLIGHT, operation=SyncRecord.Operation.DELETE, remote_id="x")
    stuck = make(Device)
    record(stuck, State.NEEDS_ATTENTION)

    devices = page(admin_client.get(url(Device)))
    assert re.search(r"Zählerfreunde: Pending, next try in 4[0-5] s", devices)
    assert "Zählerfreunde: Needs attention" in devices
    assert "needs_attention" not in re.sub(r'name="[^"]*"|value="[^"]*"|href="[^"]*"', "", devices)
    invites = page(admin_client.get(url(Invite)))
    assert "Zählerfreunde: In flight (delete)" in invites


def test_times_are_shown_to_the_second(admin_client):
    space = building()
    synced_at = timezone.now().replace(microsecond=0) - timedelta(minutes=3, seconds=7)
    record(space, State.SYNCED, remote_id="sp-1", last_synced_at=synced_at)
    expected = date_format(localtime(synced_at), "DATETIME_FORMAT")  # the one time format
    assert expected in page(admin_client.get(url(space, "change")))
    assert expected in page(admin_client.get(url(SyncRecord)))
    created = date_format(localtime(Space.objects.get(pk=space.pk).created_at), "DATETIME_FORMAT")
    assert created in page(admin_client.get(url(space, "change")))
    outbox = admin_client.get(url(SyncRecord) + "?provider=zaehlerfreunde")
    assert len(outbox.context["cl"].result_list) == 1
    assert ">Zählerfreunde</a>" in page(outbox)  # the filter names the platform


def test_the_outbox_shows_the_objects_current_name(admin_client):
    home = building("Old name")
    flat = unit(home, "Flat 1")
    row = record(flat, State.SYNCED, remote_id="u-1")
    assert row.object_repr == "Old name / Flat 1"
    Space.objects.filter(pk=home.pk).update(name="New name")  # as an import would

    listing = page(admin_client.get(url(SyncRecord)))
    shown = re.search(r'<th class="field-shown_name">(.*?)</th>', listing).group(1)
    assert ">New name / Flat 1</a>" in shown
    assert "New name / Flat 1" in page(admin_client.get(url(row, "change")))


def test_a_rename_in_the_admin_refreshes_the_outbox_name_for_search(admin_client):
    device = make(Device)
    row = record(device, State.SYNCED, remote_id="dev-1")
    admin_client.post(url(device, "change"), device_form(device, name="Heat pump meter"))
    row.refresh_from_db()
    assert row.object_repr.startswith("Heat pump meter (")
    found = admin_client.get(url(SyncRecord) + "?q=Heat+pump").context["cl"].result_list
    assert [r.pk for r in found] == [row.pk]


# --- 19: models no enabled platform takes ----------------------------------------------


@pytest.mark.parametrize("model", [Meter, Vehicle, TenantUser])
def test_models_only_spark_takes_say_so(admin_client, model, settings):
    obj = make(model)
    change = page(admin_client.get(url(obj, "change")))
    assert "Not yet marked for: Volue Spark." in change  # enabled, not saved through it
    settings.PROVIDERS = ["zaehlerfreunde"]
    change = page(admin_client.get(url(obj, "change")))
    assert "No platform has been told about this yet" not in change
    assert "Volue Spark takes this, but Volue Spark is not enabled (PROVIDERS)." in change
    assert "Volue Spark: not enabled" in page(admin_client.get(url(model)))


def test_a_platform_left_out_of_providers_is_named_as_not_enabled(admin_client, settings):
    space = building()
    settings.PROVIDERS = ["smartme"]
    change = page(admin_client.get(url(space, "change")))
    assert "Zählerfreunde takes this, but Zählerfreunde is not enabled (PROVIDERS)." in change
    assert "No platform has been told about this yet" not in change
    assert "Zählerfreunde: not enabled" in page(admin_client.get(url(Space)))


def test_coverage_names_every_platform_that_takes_a_model(settings):
    settings.PROVIDERS = ["zaehlerfreunde", "spark", "zevvy"]
    assert [(t.label, t.status) for t in coverage.takers(Device)] == [
        ("Zählerfreunde", "enabled"),
        ("zevvy", "enabled"),
    ]
    assert [t.name for t in coverage.takers(TenantUser)] == ["spark"]


# --- 20: the invite form and the tenant ------------------------------------------------


def test_the_invite_form_takes_the_tenants_e_mail(admin_client):
    flat = unit(building())
    tenant = TenantUser.objects.create(unit=flat, name="Anna", email="anna@example.org")
    response = admin_client.post(
        url(Invite, "add"),
        {"space": flat.pk, "tenant": tenant.pk, "email": "", "send_invite_email": "on"},
        follow=True,
    )
    assert response.status_code == 200
    invite = Invite.objects.get()
    assert invite.email == "anna@example.org"
    assert not any("lives in" in m for m in messages_of(response))
    assert invite.sync_records.get().state == State.PENDING


def test_the_invite_form_needs_an_e_mail_or_a_tenant(admin_client):
    flat = unit(building())
    response = admin_client.post(url(Invite, "add"), {"space": flat.pk, "email": ""})
    assert "choose a tenant" in form_errors(response)["email"][0]


def test_the_invite_form_warns_when_the_tenant_lives_elsewhere(admin_client):
    home = building()
    theirs, other = unit(home, "Flat 1"), unit(home, "Flat 2")
    tenant = TenantUser.objects.create(unit=theirs, name="Anna", email="anna@example.org")
    response = admin_client.post(
        url(Invite, "add"),
        {"space": other.pk, "tenant": tenant.pk, "email": ""},
        follow=True,
    )
    warnings = [m for m in messages_of(response) if "lives in" in m]
    assert warnings == [
        f"Anna lives in {theirs}, not in {other}: this invite gives them access to {other}. "
        "Check that this is the unit you meant."
    ]


def test_the_invite_form_script_gets_the_tenant(admin_client, client, django_user_model):
    flat = unit(building("Lindenhof"), "Flat 1")
    tenant = TenantUser.objects.create(unit=flat, name="Anna", email="anna@example.org")
    add = page(admin_client.get(url(Invite, "add")))
    assert "onboarding/invite_form.js" in add
    tenant_url = reverse("admin:onboarding_invite_tenant", args=[tenant.pk])
    assert 'data-tenant-url="' + reverse("admin:onboarding_invite_tenant", args=[0]) in add

    answer = admin_client.get(tenant_url).json()
    assert answer == {"email": "anna@example.org", "unit_id": flat.pk, "unit": "Lindenhof / Flat 1"}
    assert client.get(tenant_url).status_code == 302  # staff only: to the login page
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(tenant_url).status_code == 403  # may not see tenants


# --- 21: a flat without its building ------------------------------------------------------


def test_a_flat_saved_without_a_building_is_told_that(admin_client):
    response = admin_client.post(
        url(Space, "add"), {"name": "Whg 3", "parent": "", "category": "FLAT"}
    )
    errors = form_errors(response)
    assert errors["parent"] == ["A flat is a unit and needs its building: choose it here."]
    assert "A building needs its address." not in page(response)
    assert not Space.objects.filter(name="Whg 3").exists()


def test_a_building_without_an_address_is_still_told_that(admin_client):
    response = admin_client.post(
        url(Space, "add"), {"name": "Haus", "parent": "", "category": "APARTMENT_BUILDING"}
    )
    assert set(form_errors(response)) == {"address_line_one", "postcode", "city"}
