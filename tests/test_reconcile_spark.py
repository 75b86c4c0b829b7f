"""`manage.py reconcile spark` against the Spark sandbox, in the current form (the
default: every id ours) and the guide's: a tenant's user deleted (with what hangs under
it) and another tenant's vehicle deleted behind the portal's back are named, made again
through the outbox, and a second comparison finds nothing; a user we do not know is left
alone, never deleted."""

import uuid

import pytest

from onboarding import services
from onboarding.models import Meter, Resource, SyncRecord, TenantUser, Vehicle
from onboarding.sync import reconcile
from onboarding.sync.reconcile import fixes
from providers import registry

from .factories import building, unit
from .reconcile_helpers import reconcile as run
from .reconcile_helpers import sync as sync_all

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


def sync(portal):
    sync_all(portal, "--provider", "spark")


def spark_id(obj) -> str:
    return obj.sync_records.get(provider="spark").remote_id


def household(home, flat: str, name: str, point: str) -> TenantUser:
    tenant = services.save(
        TenantUser(unit=unit(home, flat), name=name, email=f"{name.lower()}@example.org")
    )
    services.save(Meter(tenant=tenant, meter_point_id=point))
    services.save(Vehicle(tenant=tenant, brand="Renault", model="Zoe"))
    services.save(Resource(tenant=tenant, kind=Resource.Kind.HOT_WATER_TANK, capacity=300))
    return tenant


def lose_ana_and_bens_car(portal, delete_vehicle, make_stranger):
    """Ana and Ben synced; then Ana's user deleted on Spark, Ben's car deleted, and a
    user made there by hand."""
    portal.PROVIDERS = ["spark"]
    home = building()
    ana = household(home, "Flat 1", "Ana", "CH1000000000000000000000000000001")
    ben = household(home, "Flat 2", "Ben", "CH1000000000000000000000000000002")
    sync(portal)
    platform = registry.client("spark")  # Spark's API itself, not the portal's outbox
    ben_car = Vehicle.objects.get(tenant=ben)
    for obj in (Meter.objects.get(tenant=ana), Vehicle.objects.get(tenant=ana)):
        assert obj.sync_records.get().state == State.SYNCED
    platform.delete_user(spark_id(ana))
    delete_vehicle(platform, spark_id(ben_car))
    return ana, ben, ben_car, make_stranger(platform)


def named_fixed_and_gone(portal, capsys, ana, ben_car, stranger) -> None:
    code, said = run("spark", capsys=capsys)
    assert code == 1
    assert f"missing there: {ana}" in said
    assert f"missing there: {ben_car}" in said
    assert f"extra there: Spark user {stranger} ({stranger})" in said

    code, said = run("spark", "--fix", capsys=capsys)
    assert code == 1
    assert f"left for a person (not deleted): extra there: Spark user {stranger}" in said
    sync(portal)
    (report,) = reconcile.run(["spark"])
    (extra,) = report.findings  # only the stranger's user is left
    fixes.leave(extra.drift, who="olivia")
    code, said = run("spark", capsys=capsys)
    assert code == 0, said
    assert all(r.state == State.SYNCED for r in SyncRecord.objects.filter(provider="spark"))


def test_current_form_user_and_vehicle_made_again_under_our_ids(spark, portal, capsys):
    ana, ben, ben_car, stranger = lose_ana_and_bens_car(
        portal,
        delete_vehicle=lambda platform, remote: platform.delete_resource(remote.split("/")[1]),
        make_stranger=lambda platform: platform.create_user(str(uuid.uuid4()))["userId"],
    )
    named_fixed_and_gone(portal, capsys, ana, ben_car, stranger)
    users = {u["userId"]: u for u in spark.state()["users"]}
    assert set(users) == {str(ana.spark_user_id), str(ben.spark_user_id), stranger}
    assert spark_id(ana) == str(ana.spark_user_id)  # made again under the id we chose
    for tenant in (ana, ben):
        held = users[str(tenant.spark_user_id)]
        meter = Meter.objects.get(tenant=tenant)
        assert [loc["locationId"] for loc in held["locations"]] == [str(meter.spark_location_id)]
        assert [v["resourceId"] for v in held["vehicles"]] == [
            str(Vehicle.objects.get(tenant=tenant).vehicle_id)
        ]
        assert [r["resourceId"] for r in held["resources"]] == [
            str(Resource.objects.get(tenant=tenant).resource_id)
        ]


@pytest.mark.usefixtures("spark_guide")
def test_guide_form_user_and_vehicle_made_again(spark, portal, capsys):
    ana, ben, ben_car, stranger = lose_ana_and_bens_car(
        portal,
        delete_vehicle=lambda platform, remote: platform.delete_vehicle(*remote.split("/")),
        make_stranger=lambda platform: platform.create_user({}),
    )
    named_fixed_and_gone(portal, capsys, ana, ben_car, stranger)
    users = {u["userId"]: u for u in spark.state()["users"]}
    assert set(users) == {spark_id(ana), spark_id(ben), stranger}  # never deleted
    for tenant in (ana, ben):
        held = users[spark_id(tenant)]
        assert [m["meterPointId"] for m in held["meters"]] == [
            Meter.objects.get(tenant=tenant).meter_point_id
        ]
        assert [v["vehicleId"] for v in held["vehicles"]] == [
            str(Vehicle.objects.get(tenant=tenant).vehicle_id)
        ]
        assert [r["resourceId"] for r in held["resources"]] == [
            str(Resource.objects.get(tenant=tenant).resource_id)
        ]


def test_current_form_a_location_changed_by_hand_gets_ours_again(spark, portal, capsys):
    portal.PROVIDERS = ["spark"]
    ana = household(building(), "Flat 1", "Ana", "CH1000000000000000000000000000003")
    sync(portal)
    meter = Meter.objects.get(tenant=ana)
    user_id, location_id = spark_id(meter).split("/")
    body = {"locationId": location_id, "locationType": "Commercial", "meterPointIds": ["CHX"]}
    registry.client("spark").replace_location(user_id, location_id, body)

    code, said = run("spark", capsys=capsys)
    assert code == 1
    assert "location type: ours 'Residential', theirs 'Commercial'" in said
    assert "metering point: ours ['CH1000000000000000000000000000003'], theirs ['CHX']" in said
    run("spark", "--fix", capsys=capsys)
    sync(portal)
    assert run("spark", capsys=capsys)[0] == 0
    (held,) = spark.state()["users"][0]["locations"]
    assert held["locationType"] == "Residential"
    assert held["meterPointIds"] == ["CH1000000000000000000000000000003"]


@pytest.mark.usefixtures("spark_guide")
def test_guide_form_a_new_address_spark_kept_the_old_one_of_is_not_sent(spark, portal):
    portal.PROVIDERS = ["spark"]
    flat = unit(building(), "Flat 1", address_line_one="Altweg 2", postcode="8004", city="Zürich")
    ana = services.save(TenantUser(unit=flat, name="Ana", email="a@example.org"))
    meter = services.save(Meter(tenant=ana, meter_point_id="CH1000000000000000000000000000009"))
    sync(portal)
    flat.address_line_one = "Neuweg 9"
    services.save(flat)
    sync(portal)
    (report,) = reconcile.run(["spark"])
    (finding,) = report.findings
    assert finding.kind == "different" and not finding.pushable
    assert "address: ours" in finding.describe() and "cannot be sent" in finding.describe()
    assert meter.sync_records.get().remote_state == "not_sent"
