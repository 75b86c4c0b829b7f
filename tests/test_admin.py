"""The Django admin: pages render, no N+1, sync state shown, writes through the services."""

import itertools
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from onboarding.models import (
    ApiCall,
    Device,
    Invite,
    Meter,
    ProviderConnection,
    Resource,
    Space,
    SyncRecord,
    TenantUser,
    Vehicle,
)

pytestmark = pytest.mark.django_db

State = SyncRecord.State
PROVIDER = "zaehlerfreunde"
_seq = itertools.count(1)


def building(name=None):
    return Space.objects.create(
        name=name or f"Building {next(_seq)}",
        category="APARTMENT_BUILDING",
        address_line_one="Hauptstr. 1",
        postcode="10115",
        city="Berlin",
    )


def unit(parent, name=None):
    return Space.objects.create(parent=parent, name=name or f"Flat {next(_seq)}", category="FLAT")


def tenant(space=None):
    n = next(_seq)
    return TenantUser.objects.create(
        unit=space or unit(building()), name=f"Tenant {n}", email=f"t{n}@example.org"
    )


def make(model):
    """One object of the model, with its parents."""
    n = next(_seq)
    if model is Space:
        return unit(building())
    if model is Device:
        return Device.objects.create(space=unit(building()), name=f"Meter {n}")
    if model is TenantUser:
        return tenant()
    if model is Invite:
        return Invite.objects.create(space=unit(building()), email=f"i{n}@example.org")
    if model is Meter:
        return Meter.objects.create(tenant=tenant(), meter_point_id=f"DE{n:011d}")
    if model is Vehicle:
        return Vehicle.objects.create(tenant=tenant(), brand="VW", model="ID.3")
    if model is Resource:
        return Resource.objects.create(tenant=tenant(), kind="HeatPump", brand="Nibe")
    raise AssertionError(model)


def record(obj, state=State.SYNCED, **fields):
    fields.setdefault("not_before", timezone.now())
    return SyncRecord.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        provider=PROVIDER,
        state=state,
        object_repr=str(obj)[:300],
        **fields,
    )


def call(obj=None, row=None, **fields):
    target = row.target if row else obj
    values = {
        "started_at": timezone.now(),
        "provider": PROVIDER,
        "method": "POST",
        "path": "/v1/spaces",
        "status": 201,
        "duration_ms": 42,
        "sync_record": row,
        "content_type": ContentType.objects.get_for_model(target) if target else None,
        "object_id": target.pk if target else None,
    }
    values.update(fields)
    return ApiCall.objects.create(**values)


def url(model_or_obj, view="changelist"):
    opts = model_or_obj._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
    if view in ("change", "delete", "history"):
        return reverse(name, args=[model_or_obj.pk])
    return reverse(name)


def page(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


DOMAIN = [Space, Device, TenantUser, Invite, Meter, Vehicle, Resource]


# --- every page renders ---------------------------------------------------------------


@pytest.mark.parametrize("model", DOMAIN, ids=lambda m: m.__name__)
def test_domain_pages_render(admin_client, model):
    obj = make(model)
    row = record(obj, State.FAILED, last_error="Postcode rejected", remote_id="r-1")
    call(row=row)

    listing = admin_client.get(url(model))
    assert listing.status_code == 200
    assert escape(str(obj)) in page(listing)
    assert "Zählerfreunde: Failed" in page(listing)

    change = admin_client.get(url(obj, "change"))
    assert change.status_code == 200
    assert "Sync state" in page(change)
    assert "Recent calls" in page(change)

    assert admin_client.get(url(model, "add")).status_code == 200
    assert admin_client.get(url(obj, "history")).status_code == 200


def test_outbox_pages_render(admin_client):
    space = building("Lindenhof")
    row = record(space, State.NEEDS_ATTENTION, last_error="Gateway timeout", remote_id="sp-9")
    api_call = call(row=row, status=504, error="timeout")
    connection_row = ProviderConnection.objects.create(
        provider=PROVIDER, status_message="Token refreshed"
    )

    for target in (SyncRecord, ApiCall, ProviderConnection):
        assert admin_client.get(url(target)).status_code == 200

    record_page = admin_client.get(url(row, "change"))
    assert record_page.status_code == 200
    text = page(record_page)
    assert "Lindenhof" in text
    assert "Gateway timeout" in text
    assert url(space, "change") in text  # the link to the object
    assert url(api_call, "change") in text  # the row's calls

    call_page = admin_client.get(url(api_call, "change"))
    assert call_page.status_code == 200
    assert url(row, "change") in page(call_page)

    connection_page = admin_client.get(url(connection_row, "change"))
    assert connection_page.status_code == 200
    assert "Token refreshed" in page(connection_page)

    # The changelist filters work.
    assert admin_client.get(url(SyncRecord) + "?state__exact=needs_attention").status_code == 200
    assert admin_client.get(url(ApiCall) + "?status_class=5").status_code == 200


def test_outbox_admins_are_read_only(admin_client):
    row = record(building())
    api_call = call(row=row)
    assert admin_client.get(url(SyncRecord, "add")).status_code == 403
    assert admin_client.get(url(ApiCall, "add")).status_code == 403
    assert admin_client.get(url(ProviderConnection, "add")).status_code == 403
    assert admin_client.post(url(row, "delete"), {"post": "yes"}).status_code == 403
    assert admin_client.post(url(api_call, "delete"), {"post": "yes"}).status_code == 403
    change = admin_client.post(url(row, "change"), {"state": "synced", "remote_id": "x"})
    assert change.status_code == 403
    assert SyncRecord.objects.filter(pk=row.pk, remote_id="").exists()


# --- no N+1 ---------------------------------------------------------------------------


def changelist_queries(client, model, count) -> int:
    for _ in range(count):
        obj = make(model)
        record(obj, State.FAILED, last_error="nope")
    assert model.objects.count() >= count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(model))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", DOMAIN, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_objects(admin_client, model):
    few = changelist_queries(admin_client, model, 3)
    many = changelist_queries(admin_client, model, 27)  # 30 in all
    assert many == few


def test_outbox_changelist_queries_do_not_grow(admin_client):
    def measure(n):
        for _ in range(n):
            row = record(building())
            call(row=row)
        counts = []
        for target in (SyncRecord, ApiCall):
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(url(target)).status_code == 200
            counts.append(len(queries))
        return counts

    assert measure(3) == measure(27)


# --- the sync section and column ------------------------------------------------------


def test_change_page_shows_sync_state_and_last_error(admin_client):
    space = building()
    record(
        space,
        State.FAILED,
        remote_id="space-77",
        attempts=4,
        last_error="postcode: must have 5 digits",
        outcome_unknown=True,
    )
    text = page(admin_client.get(url(space, "change")))
    assert "Zählerfreunde" in text
    assert "Failed (fix the data)" in text
    assert "postcode: must have 5 digits" in text
    assert "space-77" in text
    assert "the last create got no answer" in text


def test_sync_section_escapes_what_platforms_send(admin_client):
    space = building()
    record(space, State.FAILED, last_error="<script>alert(1)</script>")
    call(space, error="<b>bad</b>", response_body='{"x": "<img src=x onerror=alert(2)>"}')
    for target in (url(space, "change"), url(Space)):
        text = page(admin_client.get(target))
        assert "<script>alert(1)</script>" not in text
        assert "<img src=x" not in text
    text = page(admin_client.get(url(space, "change")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text


def test_recent_calls_show_redacted_bodies(admin_client):
    space = building()
    row = record(space)
    old = call(row=row, started_at=timezone.now() - timedelta(days=400), path="/v1/old-call")
    for _ in range(25):
        call(row=row, path="/v1/spaces/recent")
    api_call = call(
        row=row,
        started_at=timezone.now() + timedelta(seconds=1),
        request_body='{"client_secret": "***", "name": "Lindenhof"}',
        response_body='{"access_token": "***"}',
    )

    text = page(admin_client.get(url(space, "change")))
    assert "&quot;client_secret&quot;: &quot;***&quot;" in text
    assert "<details>" in text
    assert "/v1/old-call" not in text  # only the last 20
    assert url(old, "change") not in text

    call_text = page(admin_client.get(url(api_call, "change")))
    assert "&quot;access_token&quot;: &quot;***&quot;" in call_text


def test_sync_filter(admin_client):
    failing = building("Failing house")
    fine = building("Fine house")
    record(failing, State.FAILED)
    record(fine, State.SYNCED)
    text = page(admin_client.get(url(Space) + "?sync=problem"))
    assert "Failing house" in text
    assert "Fine house" not in text
    text = page(admin_client.get(url(Space) + "?sync=synced"))
    assert "Fine house" in text
    assert "Failing house" not in text


# --- retry ----------------------------------------------------------------------------


def test_retry_action_turns_failed_rows_pending(admin_client):
    failed = building()
    synced = building()
    row = record(failed, State.FAILED, attempts=5, last_error="rejected")
    ok = record(synced, State.SYNCED, remote_id="s-1")
    response = admin_client.post(
        url(Space),
        {"action": "retry_sync", "_selected_action": [failed.pk, synced.pk]},
        follow=True,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    ok.refresh_from_db()
    assert row.state == State.PENDING
    assert row.attempts == 0
    assert row.last_error == ""
    assert ok.state == State.SYNCED
    assert "1 sync row queued again." in messages_of(response)


def test_retry_action_on_sync_rows(admin_client):
    row = record(make(Device), State.NEEDS_ATTENTION, attempts=9)
    response = admin_client.post(
        url(SyncRecord), {"action": "retry", "_selected_action": [row.pk]}, follow=True
    )
    row.refresh_from_db()
    assert row.state == State.PENDING
    assert "1 sync row queued again." in messages_of(response)


# --- saving through the services ------------------------------------------------------


def test_adding_a_space_marks_it_for_sync(admin_client):
    response = admin_client.post(
        url(Space, "add"),
        {
            "name": "Rosenhof",
            "parent": "",
            "category": "APARTMENT_BUILDING",
            "address_line_one": "Rosenweg 3",
            "address_line_two": "",
            "postcode": "8004",
            "city": "Zürich",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    space = Space.objects.get(name="Rosenhof")
    row = space.sync_records.get()
    assert row.provider == PROVIDER
    assert row.state == State.PENDING


def test_invalid_space_is_not_saved(admin_client):
    response = admin_client.post(
        url(Space, "add"), {"name": "No address", "category": "APARTMENT_BUILDING"}
    )
    assert response.status_code == 200
    assert "A building needs its address." in page(response)
    assert not Space.objects.filter(name="No address").exists()
    assert not SyncRecord.objects.exists()


def test_changing_a_building_marks_it_and_its_units(admin_client):
    house = building("Eichenhof")
    flat = unit(house, "Flat 1")
    house_row = record(house, State.SYNCED, remote_id="b-1")
    flat_row = record(flat, State.SYNCED, remote_id="u-1")
    response = admin_client.post(
        url(house, "change"),
        {
            "name": "Eichenhof",
            "parent": "",
            "category": "APARTMENT_BUILDING",
            "address_line_one": "Eichenweg 9",
            "address_line_two": "",
            "postcode": "10115",
            "city": "Berlin",
        },
        follow=True,
    )
    assert response.status_code == 200
    house_row.refresh_from_db()
    flat_row.refresh_from_db()
    assert house_row.state == State.PENDING
    assert flat_row.state == State.PENDING
    assert any("1 unit follow" in m for m in messages_of(response))


# --- deleting through the services ----------------------------------------------------


def test_deleting_a_synced_invite_asks_zaehlerfreunde_to_end_the_access(admin_client):
    invite = make(Invite)
    record(invite, State.SYNCED, remote_id="https://zf.example/invite/abc")
    response = admin_client.post(url(invite, "delete"), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert any("requested" in m for m in messages_of(response))
    invite.refresh_from_db()
    assert invite.deletion_requested_at is not None
    assert invite.sync_records.get().operation == SyncRecord.Operation.DELETE


def test_deleting_a_space_nobody_has_deletes_it(admin_client):
    space = building()
    record(space, State.FAILED, last_error="rejected")  # never reached the platform
    response = admin_client.post(url(space, "delete"), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Space.objects.filter(pk=space.pk).exists()
    assert not SyncRecord.objects.exists()


def test_deleting_a_synced_space_waits_for_the_platform(admin_client):
    space = building("Birkenhof")
    row = record(space, State.SYNCED, remote_id="sp-1")
    response = admin_client.post(url(space, "delete"), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert any("Deletion of “Birkenhof” requested" in m for m in messages_of(response))
    space.refresh_from_db()
    assert space.deletion_requested_at is not None
    row.refresh_from_db()
    assert row.operation == SyncRecord.Operation.DELETE
    assert row.state == State.PENDING
    assert "Being deleted" in page(admin_client.get(url(Space)))
    # It can no longer be changed or deleted again.
    assert admin_client.post(url(space, "delete"), {"post": "yes"}).status_code == 403


def test_bulk_delete_goes_through_the_service(admin_client):
    free = building("Free")
    synced = building("Synced")
    record(synced, State.SYNCED, remote_id="sp-2")
    invite = make(Invite)
    record(invite, State.SYNCED, remote_id="inv-1")

    response = admin_client.post(
        url(Space),
        {"action": "delete_selected", "_selected_action": [free.pk, synced.pk], "post": "yes"},
        follow=True,
    )
    shown = messages_of(response)
    assert "Deleted 1 space." in shown
    assert any("Deletion requested for 1 space" in m for m in shown)
    assert not Space.objects.filter(pk=free.pk).exists()
    assert Space.objects.get(pk=synced.pk).deletion_requested_at is not None

    response = admin_client.post(
        url(Invite),
        {"action": "delete_selected", "_selected_action": [invite.pk], "post": "yes"},
        follow=True,
    )
    assert any("Deletion requested for 1 invite" in m for m in messages_of(response))
    assert Invite.objects.get(pk=invite.pk).deletion_requested_at is not None


# --- secrets --------------------------------------------------------------------------


def test_access_token_never_shown(admin_client):
    secret = "supersecret-token-123"
    conn = ProviderConnection.objects.create(
        provider=PROVIDER,
        access_token=secret,
        status_message="Connected since Monday",
        token_expires_at=timezone.now() + timedelta(hours=1),
    )
    assert ProviderConnection.objects.get().access_token == secret  # it is really there
    row = record(building())
    call(row=row, request_body='{"token": "***"}')

    pages = [
        url(ProviderConnection),
        url(conn, "change"),
        url(conn, "history"),
        reverse("admin:index"),
        reverse("admin:app_list", args=["onboarding"]),
        url(SyncRecord),
        url(row, "change"),
        url(ApiCall),
    ]
    rendered = ""
    for address in pages:
        response = admin_client.get(address)
        assert response.status_code == 200, address
        rendered += page(response)
    assert "Connected since Monday" in rendered
    assert secret not in rendered


def test_delete_confirmation_page_can_be_confirmed(admin_client):
    space = building("Ahornhof")
    unit(space, "Flat 1")
    record(space, State.SYNCED, remote_id="sp-3")
    text = page(admin_client.get(url(space, "delete")))
    assert "Are you sure" in text
    assert "Cannot delete" not in text


def test_units_link_and_building_picker(admin_client):
    house = building("Ulmenhof")
    flat = unit(house, "Flat 7")
    building("Other house")
    listing = page(admin_client.get(url(Space)))
    units_url = url(Space) + f"?parent__id__exact={house.pk}"
    assert escape(units_url) in listing
    response = admin_client.get(units_url)
    assert response.status_code == 200
    assert [obj.pk for obj in response.context["cl"].result_list] == [flat.pk]

    picker = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "onboarding", "model_name": "space", "field_name": "parent", "term": "hof"},
    )
    assert picker.status_code == 200
    assert [r["id"] for r in picker.json()["results"]] == [str(house.pk)]


def test_the_connections_page_says_each_platforms_state_and_what_to_do(admin_client):
    from onboarding.models import ProviderConnection

    ProviderConnection.objects.create(
        provider="spark",
        status=ProviderConnection.Status.DISCONNECTED,
        status_message="Spark refused our credentials (invalid_client). Check SPARK_CLIENT_ID.",
    )
    page = admin_client.get("/admin/onboarding/providerconnection/").content.decode()
    assert "Spark refused our credentials (invalid_client). Check SPARK_CLIENT_ID." in page
    assert "Zählerfreunde" in page and "Not used yet (its sandbox)" in page
