"""Honest words (issue 17 items 7 and 9): what a page says matches what happened, in the
page's language, with one time format; the admin's polish."""

import datetime

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from onboarding import services, sync_words
from onboarding.invite_mail import render_invite_email
from onboarding.models import ApiCall, Device, ProviderConnection, SyncRecord, TenantUser
from tests import pages_helpers
from tests.factories import building, device, tenant_with_invite, unit

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db
State = SyncRecord.State
DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


def text(response) -> str:
    return response.content.decode()


def test_a_404_on_an_update_is_not_called_a_create_without_answer(staff):
    flat = unit(building(), "Flat 1")
    flat.sync_records.filter(provider="zaehlerfreunde").update(
        state=State.NEEDS_ATTENTION, outcome_unknown=True, remote_id="",
        last_error="Deleted on Zählerfreunde (it answered 404: Space 'x' does not exist.). "
        "Retry creates it again.",
    )  # fmt: skip
    page = text(staff.get(f"/spaces/{flat.pk}/"))
    assert "The platform no longer has it (it answered 404)" in page
    assert "The last create got no answer" not in page
    assert "deleted on the platform" in text(staff.get("/"))


def test_since_is_when_the_trouble_began_not_the_last_change(staff):
    flat = unit(building(), "Flat 1")
    row = flat.sync_records.get(provider="zaehlerfreunde")
    began = timezone.now() - datetime.timedelta(hours=3)
    ok = began - datetime.timedelta(days=2)
    SyncRecord.objects.filter(pk=row.pk).update(
        state=State.NEEDS_ATTENTION, last_synced_at=ok, last_error="still failing"
    )
    for when in (ok - datetime.timedelta(minutes=1), began, began + datetime.timedelta(hours=2)):
        ApiCall.objects.create(
            started_at=when, provider="zaehlerfreunde", method="PUT", path="/spaces/x",
            status=503, duration_ms=5, sync_record=row,
        )  # fmt: skip
    page = text(staff.get("/"))
    assert date_format(timezone.localtime(began), "DATETIME_FORMAT") in page
    row.refresh_from_db()
    assert date_format(timezone.localtime(row.updated_at), "DATETIME_FORMAT") not in page


def test_failed_is_not_fix_the_data_when_only_the_parent_is_missing(staff):
    flat = unit(building(), "Flat 1")
    meter = device(flat, "Main meter")
    meter.sync_records.filter(provider="zaehlerfreunde").update(
        state=State.FAILED, last_error="Zählerfreunde refused it: 404 Space 'x' does not exist."
    )
    page = text(staff.get("/"))
    assert "what it belongs to is missing there" in page
    assert "fix the data" not in page


def test_a_unit_without_a_tenant_shows_no_spark_badge(staff):
    flat = unit(building(), "Flat 1")
    page = text(staff.get("/"))
    row = page.split(f'href="/spaces/{flat.pk}/"')[1].split("</tr>")[0]
    assert "Volue Spark" not in row and "Zählerfreunde" in row
    services.save(TenantUser(unit=flat, name="Ben", email="ben@example.org"))
    row = text(staff.get("/")).split(f'href="/spaces/{flat.pk}/"')[1].split("</tr>")[0]
    assert "Volue Spark" in row


@pytest.mark.platforms("zaehlerfreunde", "zevvy")
def test_zevvy_is_not_connected_before_it_ever_was(staff):
    page = text(staff.get("/"))
    card = page.split("<strong>zevvy</strong>")[1].split("</div>")[0]
    assert "not connected" in card and "Never connected yet" in card
    ProviderConnection.objects.create(provider="zevvy", status="connected")
    card = text(staff.get("/")).split("<strong>zevvy</strong>")[1].split("</div>")[0]
    assert ">connected<" in card


def test_stored_errors_render_in_the_pages_language(staff):
    flat = unit(building(), "Flat 1")
    flat.sync_records.filter(provider="zaehlerfreunde").update(
        state=State.PENDING, attempts=1, not_before=timezone.now() + datetime.timedelta(hours=1),
        last_error="Attempt 1 failed, retrying: HTTP 503 from Zählerfreunde",
    )  # fmt: skip
    page = text(staff.get(f"/spaces/{flat.pk}/", **DE))
    assert "Versuch 1 fehlgeschlagen, wird wiederholt: HTTP 503 from Zählerfreunde" in page
    assert "Attempt 1 failed" not in page
    with translation.override("de"):
        assert sync_words.translate("unknown words stay") == "unknown words stay"


def test_one_time_format_on_pages_and_admin(staff, admin_client):
    flat = unit(building(), "Flat 1")
    when = timezone.now()
    flat.sync_records.update(state=State.SYNCED, remote_id="r-1", last_synced_at=when)
    with translation.override("de"):
        german = date_format(timezone.localtime(when), "DATETIME_FORMAT")
    assert german.count(".") == 2 and german.count(":") == 2  # 2.12.2026, 14:05:09
    assert german in text(staff.get(f"/spaces/{flat.pk}/", **DE))
    with translation.override("en"):  # a request in German leaves its language active
        english = date_format(timezone.localtime(when), "DATETIME_FORMAT")
    assert english in text(staff.get(f"/spaces/{flat.pk}/"))
    assert english in text(admin_client.get(f"/admin/onboarding/space/{flat.pk}/change/"))


def test_the_english_invite_reads_as_english():
    invite = tenant_with_invite(unit(building(), "Flat 1"), "ben@example.org")
    TenantUser.objects.filter(pk=invite.tenant_id).update(name="Ben Keller")
    invite.refresh_from_db()
    _subject, body = render_invite_email(invite, "en")
    assert body.startswith("Hello Ben Keller,\n\nYour home Flat 1 in Lindenhof")
    _subject, german = render_invite_email(invite, "de")
    assert "Ihr Zuhause Flat 1" in german


# --- admin polish --------------------------------------------------------------------------


def test_provider_connections_use_the_platforms_names_and_no_stale_message(admin_client):
    ProviderConnection.objects.create(
        provider="zaehlerfreunde", status="connected",
        status_message="Zählerfreunde refused our credentials (401): old news",
    )  # fmt: skip
    page = text(admin_client.get("/admin/onboarding/providerconnection/"))
    assert '<td class="field-platform">Zählerfreunde</td>' in page or ">Zählerfreunde<" in page
    assert "old news" not in page


def test_a_favicon_on_pages_and_admin(staff, admin_client):
    assert 'rel="icon" href="/static/favicon.svg"' in text(staff.get("/"))
    assert 'rel="icon" href="/static/favicon.svg"' in text(admin_client.get("/admin/"))


def test_the_device_list_has_few_columns(admin_client):
    device(unit(building(), "Flat 1"), "Main meter")
    page = text(admin_client.get("/admin/onboarding/device/"))
    header = page.split("<thead>")[1].split("</thead>")[0]
    assert header.count("<th") <= 7, header.count("<th")
    assert "Electricity · Smart meter" in page and Device.objects.count() == 1
