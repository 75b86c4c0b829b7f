"""The outbox against the Spark sandbox in the current form (SPARK_API=current, the
default): real HTTP, a real database, real Celery workers (and the foreground
`sync_pending` where a test steps through attempts). The sandbox checks every body
against Volue's spec and counts what it refuses; "exactly once" and "zero violations" are
asked of it, never of our own rows."""

import csv
from contextlib import suppress
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from onboarding import services
from onboarding.importer import import_file
from onboarding.models import Meter, Resource, SyncRecord, TenantUser, Vehicle

from .conftest import wait_until
from .factories import building, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State
POINT = "CH1012301234500000000000000012345"


@pytest.fixture
def only_spark(portal):
    portal.PROVIDERS = ["spark"]
    return portal


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="spark")


def sync() -> str:
    """One foreground run; rows still backing off are made due for the next one."""
    out = StringIO()
    with suppress(CommandError):
        call_command("sync_pending", "--provider", "spark", stdout=out, stderr=out)
    SyncRecord.objects.filter(provider="spark", state=State.PENDING).update(
        not_before=timezone.now()
    )
    return out.getvalue()


def all_synced(expected: int):
    def check():
        states = list(SyncRecord.objects.filter(provider="spark").values_list("state", flat=True))
        return len(states) == expected and all(s == State.SYNCED for s in states)

    return check


def tenant(name="Ana", flat="Flat 1") -> TenantUser:
    space = unit(building(), flat)
    return services.save(TenantUser(unit=space, name=name, email=f"{name}@example.org"))


def household() -> TenantUser:
    """A tenant with a meter (with coordinates), a car and a heat pump behind the meter."""
    ana = tenant()
    meter = services.save(
        Meter(tenant=ana, meter_point_id=POINT, meter_number="77",
              latitude="47.370000", longitude="8.540000")
    )  # fmt: skip
    services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3", vin="5YJ3E1EA7KF317000"))
    services.save(Resource(tenant=ana, meter=meter, kind=Resource.Kind.HEAT_PUMP, brand="Nibe"))
    return ana


def assert_household_exactly_once(state: dict, ana: TenantUser) -> None:
    counts = state["counts"]
    assert (counts["users"], counts["locations"], counts["vehicles"], counts["resources"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert counts["refused_bodies"] == 0, state["refused_bodies"]
    [user] = state["users"]
    assert user["userId"] == str(ana.spark_user_id) == row_of(ana).remote_id
    meter = ana.meters.get()
    [location] = user["locations"]
    assert location == {
        "locationId": str(meter.spark_location_id),
        "locationType": "Residential",  # a flat
        "coordinates": {"latitude": 47.37, "longitude": 8.54},
        "meterPointId": POINT,
        "meterPointIds": [POINT],
        "userId": user["userId"],
    }
    assert user["vehicles"] == [
        {"resourceId": str(ana.vehicles.get().vehicle_id), "resourceType": "Vehicle",
         "userId": user["userId"], "locationId": None, "meterPointId": None},
    ]  # fmt: skip
    assert user["resources"] == [
        {"resourceId": str(ana.resources.get().resource_id), "resourceType": "HVAC",
         "userId": user["userId"], "locationId": location["locationId"], "meterPointId": POINT},
    ]  # fmt: skip


# --- with real workers -----------------------------------------------------------------


@pytest.mark.worker
def test_a_household_lands_exactly_once_through_faults_and_lost_answers(
    spark, only_spark, start_worker
):
    spark.fault("error", count=2, status=500, path="/users")  # may have arrived: GET first
    spark.fault("timeout", count=1, delay=3, path="/locations")  # created, answer lost
    spark.fault("error", count=1, status=502, path="/vehicles")  # proves nothing arrived
    spark.fault("maintenance", count=1, path="/resources")  # a proxy's page, not Spark's
    start_worker(PROVIDERS="spark")
    ana = household()
    wait_until(all_synced(4), timeout=60, message="four Spark rows synced")

    state = spark.state()
    assert_household_exactly_once(state, ana)
    requests = state["requests"]
    # POST → 500; the next attempt looks first: GET → 500; then GET → not there, POST.
    assert requests["POST /users"] == 2
    assert requests["GET /users/{userId}"] == 2
    assert requests["POST /users/{userId}/locations"] == 1  # its lost answer: found, not sent
    assert requests["GET /users/{userId}/locations/{locationId}"] == 1
    assert requests["POST /users/{userId}/vehicles"] == 2  # 502, then created: no look-up
    assert requests.get("GET /resources/{resourceId}", 0) == 0
    assert requests["POST /users/{userId}/locations/{locationId}/resources"] == 2
    # The Spark part of issue 14: nobody was asked anything.
    assert not SyncRecord.objects.exclude(state=State.SYNCED).exists()


IMPORT_HEADER = [
    "building", "address_line_one", "postcode", "city", "unit", "category", "tenant_name",
    "tenant_email", "meter_point_id", "vehicle_brand", "vehicle_model", "vehicle_vin",
    "resource_type", "resource_brand",
]  # fmt: skip
KINDS = ["HotWaterTank", "HeatPump", "Battery", "Charger", "SolarInverter", "ElectricBoiler"]


def import_with_spark_parts(path, tenants: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(IMPORT_HEADER)
        for i in range(tenants):
            shop = i % 3 == 2
            out.writerow([
                "Lindenhof", "Lindenstrasse 5", "8004", "Zürich", f"Unit {i}",
                "COMMERCIAL" if shop else "FLAT", f"Tenant {i}", f"t{i}@example.org",
                f"CH-MP-{i:04d}", "Renault", "Zoe", "", KINDS[i % len(KINDS)], "Oso",
            ])  # fmt: skip
    import_file(path)


@pytest.mark.worker
def test_an_import_with_spark_parts_lands_exactly_once_against_the_strict_spec(
    spark, only_spark, start_worker, tmp_path
):
    """Issue 15's check: the import with Spark parts against a sandbox that follows the
    spec (every body validated), with 500s and answers lost after the create: every
    tenant, location and resource exactly once, zero schema violations, nobody asked."""
    tenants = 6
    for path in ("/users", "/locations", "/vehicles", "/resources"):
        spark.fault("error", count=2, status=500, path=path)
        spark.fault("timeout", count=1, delay=3, path=path)
    start_worker(PROVIDERS="spark")
    import_with_spark_parts(tmp_path / "spark.csv", tenants)
    wait_until(all_synced(tenants * 4), timeout=120, interval=0.5, message="all rows synced")

    state = spark.state()
    counts = state["counts"]
    assert counts["refused_bodies"] == 0, state["refused_bodies"]
    assert (counts["users"], counts["locations"], counts["vehicles"], counts["resources"]) == (
        tenants, tenants, tenants, tenants,
    )  # fmt: skip
    ours = {str(t.spark_user_id): t for t in TenantUser.objects.all()}
    assert {u["userId"] for u in state["users"]} == set(ours)
    for user in state["users"]:
        tenant = ours[user["userId"]]
        meter = tenant.meters.get()
        [location] = user["locations"]
        assert location["locationId"] == str(meter.spark_location_id)
        assert location["meterPointIds"] == [meter.meter_point_id]
        shop = tenant.unit.category == "COMMERCIAL"
        assert location["locationType"] == ("Commercial" if shop else "Residential")
        [car] = user["vehicles"]
        assert car["resourceId"] == str(tenant.vehicles.get().vehicle_id)
        [thing] = user["resources"]
        resource = tenant.resources.get()
        assert thing["resourceId"] == str(resource.resource_id)
        assert thing["locationId"] == location["locationId"]
        expected = {"HeatPump": "HVAC", "Battery": "Generic", "ElectricBoiler": "Generic"}
        assert thing["resourceType"] == expected.get(resource.kind, resource.kind)
    assert not SyncRecord.objects.filter(state=State.NEEDS_ATTENTION).exists()


# --- stepped through in the foreground --------------------------------------------------


def test_a_user_whose_answer_was_lost_is_found_by_get_and_its_meter_follows(spark, only_spark):
    spark.fault("timeout", count=1, delay=3, path="/users")  # created, the answer lost
    ana = tenant()
    meter = services.save(Meter(tenant=ana, meter_point_id=POINT))
    sync()
    assert row_of(ana).outcome_unknown and row_of(meter).state == State.PENDING
    sync()
    sync()
    assert row_of(ana).state == State.SYNCED and row_of(meter).state == State.SYNCED
    assert spark.requests_to("POST /users") == 1  # found by GET /users/{id}, not re-sent
    assert spark.requests_to("GET /users/{userId}") == 1
    assert spark.count("users") == 1 and spark.count("locations") == 1


def test_changes_reach_the_location_and_what_stays_ours_sends_nothing(spark, only_spark):
    ana = household()
    sync()
    meter, car = ana.meters.get(), ana.vehicles.get()
    meter.latitude, meter.longitude = None, None  # PUT replaces: the coordinates go
    meter.meter_point_id = "CH-NEW"
    services.save(meter)
    car.year, car.brand = 2023, "Tesla Inc."  # ours only: the current API has no place
    services.save(car)
    ana.name = "Ana Alt"  # nothing personal reaches Spark
    services.save(ana)
    sync()

    [location] = spark.state()["users"][0]["locations"]
    assert location["meterPointIds"] == ["CH-NEW"] and "coordinates" not in location
    assert spark.requests_to("PUT /users/{userId}/locations/{locationId}") == 1
    assert spark.requests_to("POST /users/{userId}/vehicles") == 1
    assert all(row_of(o).state == State.SYNCED for o in (meter, car, ana))

    pump = ana.resources.get()
    pump.kind = Resource.Kind.BATTERY
    with pytest.raises(ValidationError, match="Spark cannot change a resource once registered"):
        services.save(pump)
    bea = services.save(TenantUser(unit=ana.unit, name="Bea", email="bea@example.org"))
    car.refresh_from_db()
    car.tenant = bea
    with pytest.raises(ValidationError, match="Spark cannot move a vehicle to another user"):
        services.save(car)


def test_a_resource_goes_to_its_tenants_first_meter_and_waits_for_it(spark, only_spark):
    ana = tenant()
    tank = services.save(Resource(tenant=ana, kind=Resource.Kind.HOT_WATER_TANK))
    sync()
    assert row_of(tank).state == State.PENDING
    assert "Waiting for Meter (none yet: add the tenant's meter)" in row_of(tank).last_error
    meter = services.save(Meter(tenant=ana, meter_point_id=POINT))
    sync()  # the meter reaches Spark and hands the resource over: no Retry needed
    sync()
    assert row_of(tank).state == State.SYNCED
    [thing] = spark.state()["users"][0]["resources"]
    assert thing["locationId"] == str(meter.spark_location_id)


def test_deleting_a_tenant_goes_bottom_up_and_relies_on_no_cascade(spark, only_spark):
    """The spec does not say what deleting a user does to its locations and resources,
    and the sandbox does nothing: only deleting each (its own row) empties Spark."""
    ana = household()
    sync()
    assert services.delete(ana) is False
    for _ in range(4):
        sync()
    assert not TenantUser.objects.filter(pk=ana.pk).exists()
    counts = spark.state()["counts"]
    assert [counts[k] for k in ("users", "locations", "vehicles", "resources")] == [0] * 4
    deletes = [endpoint for endpoint in spark.state()["requests"] if endpoint.startswith("DELETE")]
    assert sorted(deletes) == [
        "DELETE /resources/{resourceId}",
        "DELETE /users/{userId}",
        "DELETE /users/{userId}/locations/{locationId}",
    ]
