"""Retry and Re-create bring the children: a space the platform lost comes back with its
devices and invites, whichever way it is made again; a row the platform can never move
offers what can be done instead of a Retry that fails."""

import re

import pytest

from onboarding import services
from onboarding.models import Device, Drift, Invite, Space, SyncRecord, TenantUser, Vehicle

from . import pages_helpers
from .factories import building, building_with_units, unit
from .reconcile_helpers import sync, zaehlerfreunde_by_hand

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State
staff_user, staff = pages_helpers.staff_user, pages_helpers.staff


def zf_row(obj) -> SyncRecord:
    return obj.sync_records.get(provider="zaehlerfreunde")


def lose_the_flat(portal, live_server) -> Space:
    """One flat with a meter and an invite, synced; then deleted on Zählerfreunde by
    hand (the platform takes its devices and invites with it)."""
    building_with_units(1)
    sync(portal)
    flat = Space.objects.get(parent__isnull=False)
    zaehlerfreunde_by_hand(live_server).delete_space(zf_row(flat).remote_id)
    return flat


def assert_back_with_children(sandbox, flat: Space) -> None:
    state = sandbox.state()
    (remote_flat,) = [s for s in state["spaces"] if s["name"] == flat.name]
    assert remote_flat["id"] == zf_row(flat).remote_id
    (remote_device,) = state["devices"]
    assert remote_device["spaceIds"] == [remote_flat["id"]]
    assert remote_device["id"] == zf_row(Device.objects.get(space=flat)).remote_id
    (remote_invite,) = state["invites"]
    assert remote_invite["spaceId"] == remote_flat["id"]
    assert state["counts"]["spaces"] == 2  # nothing twice
    assert all(
        r.state == State.SYNCED for r in SyncRecord.objects.filter(provider="zaehlerfreunde")
    )


def test_retry_after_a_404_re_creates_the_flat_with_its_device_and_invite(
    sandbox, portal, live_server
):
    flat = lose_the_flat(portal, live_server)
    flat.name = "Flat 1 (left)"
    services.save(flat)
    sync(portal)  # the update is answered 404: deleted there
    row = zf_row(flat)
    assert row.state == State.NEEDS_ATTENTION and row.remote_state == "missing"
    assert "Retry creates it again, with what hangs under it" in row.last_error

    services.retry([row], who="olivia")
    assert zf_row(Device.objects.get(space=flat)).remote_id == ""  # to be made again too
    sync(portal)
    assert_back_with_children(sandbox, flat)
    assert sandbox.state()["emails"][-1]["to"] == "tenant1@example.org"  # a new link
    assert Drift.objects.get(sync_record=row).fixed_by == "olivia"


def test_a_flat_made_again_by_a_later_save_brings_its_children_too(sandbox, portal, live_server):
    flat = lose_the_flat(portal, live_server)
    flat.address_line_two = "2nd floor"
    services.save(flat)  # any change: the update meets the 404
    sync(portal)
    assert zf_row(flat).remote_state == "missing"
    services.save(flat)  # staff save again instead of Retry: the engine makes it again
    sync(portal)
    assert_back_with_children(sandbox, flat)


def test_a_unit_moved_to_another_building_is_moved_there(sandbox, portal):
    first, second = building("Lindenhof"), building("Sonnenhof", address_line_one="Sonnenweg 1")
    flat = unit(first, "Flat 1")
    sync(portal)
    flat.parent = second
    services.save(flat)
    sync(portal)
    row = zf_row(flat)
    assert row.state == State.SYNCED, row.last_error
    (remote,) = [s for s in sandbox.state()["spaces"] if s["name"] == "Flat 1"]
    assert remote["parentSpaceId"] == zf_row(second).remote_id


def a_car_moved_to_another_tenant(portal) -> tuple[Vehicle, TenantUser]:
    """Ana's car on Spark, then given to Ben past the form (which refuses it), as the
    shell could: Spark cannot move it."""
    portal.PROVIDERS = ["spark"]
    home = building()
    ana = services.save(TenantUser(unit=unit(home, "Flat 1"), name="Ana", email="a@example.org"))
    ben = services.save(TenantUser(unit=unit(home, "Flat 2"), name="Ben", email="b@example.org"))
    car = services.save(Vehicle(tenant=ana, brand="Renault", model="Zoe"))
    sync(portal)
    car.tenant = ben
    services.save(car, validate=False)
    sync(portal)
    return car, ben


@pytest.mark.parametrize("form, key", [("current", "resourceId"), ("guide", "vehicleId")])
def test_a_vehicle_spark_cannot_move_offers_re_create_under_the_new_parent(
    spark, portal, staff, form, key
):
    portal.SPARK_API = form
    car, ben = a_car_moved_to_another_tenant(portal)
    row = car.sync_records.get(provider="spark")
    assert row.state == State.NEEDS_ATTENTION and row.remote_state == "cannot_move"

    page = re.sub(r"\s+", " ", staff.get("/").content.decode())
    assert "Re-create under the new parent" in page and "Accept where it is" in page
    assert f'aria-label="Retry {row.object_repr} on Volue Spark"' not in page
    assert services.retry([row]) == 0  # a Retry would only fail again

    staff.post("/drift/fix/", {"row": row.pk, "action": "recreate_parent"})
    sync(portal)
    row.refresh_from_db()
    users = {u["userId"]: u for u in spark.state()["users"]}
    ben_id = ben.sync_records.get(provider="spark").remote_id
    assert row.state == State.SYNCED and row.remote_id.startswith(f"{ben_id}/")
    assert [v[key] for v in users[ben_id]["vehicles"]] == [str(car.vehicle_id)]
    assert sum(len(u["vehicles"]) for u in users.values()) == 1  # the old one went first
    assert Drift.objects.get(sync_record=row).fix == "recreate_parent"


def test_accepting_it_where_it_is_stops_the_move(spark, portal, staff):
    car, _ = a_car_moved_to_another_tenant(portal)
    row = car.sync_records.get(provider="spark")
    staff.post("/drift/fix/", {"row": row.pk, "action": "accept_where"})
    row.refresh_from_db()
    assert row.state == State.SYNCED and row.dismissed_by == "olivia"
    services.save(car, validate=False)
    sync(portal)
    row.refresh_from_db()
    assert row.state == State.SYNCED, row.last_error  # it no longer tries to move
    assert Invite.objects.count() == 0
