"""The outbox against the Spark sandbox in the guide's form (SPARK_API=guide): real HTTP,
real database, real Celery worker processes (and the foreground `sync_pending` where a
test steps through attempts). "Exactly once" is always asked of the sandbox itself.
test_sync_spark_current.py has the current form."""

from contextlib import suppress
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from onboarding import services
from onboarding.models import ApiCall, Meter, Resource, SyncRecord, TenantUser, Vehicle
from onboarding.sync import tasks
from providers.spark.client_guide import GuideClient

from .conftest import wait_until
from .factories import building, unit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("spark_guide")]
State = SyncRecord.State


@pytest.fixture
def only_spark(portal):
    """Spark alone, so the rows counted are Spark's (buildings have no Spark twin)."""
    portal.PROVIDERS = ["spark"]
    return portal


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="spark")


def spark_rows_synced(expected: int):
    def check():
        states = list(SyncRecord.objects.filter(provider="spark").values_list("state", flat=True))
        return len(states) == expected and all(s == State.SYNCED for s in states)

    return check


def tenant(name: str = "Ana", flat: str = "Flat 1") -> TenantUser:
    home = building()
    return services.save(TenantUser(unit=unit(home, flat), name=name, email=f"{name}@example.org"))


def household() -> TenantUser:
    """A tenant with a meter, two vehicles and a hot-water tank."""
    ana = tenant()
    services.save(
        Meter(tenant=ana, meter_point_id="CH1012301234500000000000000012345", meter_number="77",
              latitude="47.370000", longitude="8.540000")
    )  # fmt: skip
    services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3", year=2022,
                          vin="5YJ3E1EA7KF317000"))  # fmt: skip
    services.save(Vehicle(tenant=ana, brand="Renault", model="Zoe"))
    services.save(
        Resource(tenant=ana, kind=Resource.Kind.HOT_WATER_TANK, brand="Oso", model="SuperTank",
                 capacity=500, heating_elements="1750, 1250")
    )  # fmt: skip
    return ana


def sync() -> str:
    """One foreground run; rows still backing off are made due for the next one."""
    out = StringIO()
    with suppress(CommandError):  # exit 1 for a failed row: the tests assert the rows
        call_command("sync_pending", "--provider", "spark", stdout=out, stderr=out)
    SyncRecord.objects.filter(provider="spark", state=State.PENDING).update(
        not_before=timezone.now()
    )
    return out.getvalue()


def assert_household_exactly_once(state: dict, ana: TenantUser) -> None:
    assert state["counts"] == {
        **state["counts"], "users": 1, "meters": 1, "vehicles": 2, "resources": 1,
    }  # fmt: skip
    [user] = state["users"]
    assert row_of(ana).remote_id == user["userId"]
    assert user["meters"][0]["meterPointId"] == "CH1012301234500000000000000012345"
    assert user["meters"][0]["address"] == {
        "street": "Lindenstrasse 5",
        "city": "Zürich",
        "zipCode": "8004",
    }
    assert user["meters"][0]["location"] == {"latitude": 47.37, "longitude": 8.54}
    assert {v["vehicleId"] for v in user["vehicles"]} == {
        str(v.vehicle_id) for v in ana.vehicles.all()
    }
    tank = ana.resources.get()
    assert user["resources"][0]["resourceId"] == str(tank.resource_id)
    assert user["resources"][0]["metadata"] == {
        "resourceType": "HotWaterTank",
        "brand": "Oso",
        "model": "SuperTank",
        "capacity": 500,
        "heatingElements": [1750, 1250],
    }
    meter = ana.meters.get()
    assert row_of(meter).remote_id == f"{user['userId']}/{user['meters'][0]['meterId']}"


# --- with real workers -----------------------------------------------------------------


@pytest.mark.worker
def test_household_lands_exactly_once_through_faults(spark, only_spark, start_worker):
    spark.fault("rate_limit", count=1, retry_after=0, path="/users")  # the user's create
    spark.fault("error", count=2, status=500, path="/meters")
    spark.fault("rate_limit", count=1, retry_after=0, path="/vehicles")
    spark.fault("timeout", count=1, delay=3, path="/resources")  # created, answer lost
    start_worker(PROVIDERS="spark")
    ana = household()
    wait_until(spark_rows_synced(5), timeout=60, message="five Spark rows synced")

    state = spark.state()
    assert_household_exactly_once(state, ana)
    requests = state["requests"]
    assert requests["POST /users"] == 2  # 429 (not created), then created
    # POST → 500; the next attempt looks first: GET → 500; then GET → not there, POST.
    assert requests["POST /users/{userId}/meters"] == 2
    assert requests["GET /users/{userId}/meters"] == 2
    assert requests["POST /users/{userId}/vehicles"] == 3  # one 429, then one per vehicle
    assert requests["POST /users/{userId}/resources"] == 1  # found by its resourceId
    assert requests["GET /users/{userId}/resources"] >= 1
    assert all(row.attempts == 0 and not row.last_error for row in SyncRecord.objects.all())

    # A sweep and a no-op save send nothing more.
    tasks.sweep()
    services.save(ana.vehicles.first())
    wait_until(spark_rows_synced(5))
    assert spark.requests_to("POST /users/{userId}/vehicles") == 3


@pytest.mark.worker
def test_worker_killed_during_a_create_is_finished_without_duplicate(
    spark, only_spark, start_worker
):
    # The vehicle is created, but its answer takes 6 s: the worker dies waiting.
    spark.fault("timeout", count=1, delay=6, path="/vehicles")
    first = start_worker(
        PROVIDERS="spark", PROVIDER_TIMEOUT_SECONDS=30, SYNC_CLAIM_TIMEOUT_SECONDS=60
    )
    ana = tenant()
    car = services.save(Vehicle(tenant=ana, brand="Tesla", model="Model Y"))
    wait_until(lambda: spark.count("vehicles") == 1, message="vehicle created remotely")
    assert row_of(car).state == State.IN_FLIGHT and row_of(car).outcome_unknown
    first.kill()

    start_worker(PROVIDERS="spark")
    # The claim goes stale after SYNC_CLAIM_TIMEOUT_SECONDS; the beat sweep re-enqueues.
    wait_until(lambda: tasks.sweep() >= 0 and row_of(car).state == State.SYNCED,
               timeout=30, interval=1.0, message="swept and synced")  # fmt: skip
    state = spark.state()
    assert state["counts"]["vehicles"] == 1
    assert state["requests"]["POST /users/{userId}/vehicles"] == 1
    assert row_of(car).remote_id == f"{row_of(ana).remote_id}/{car.vehicle_id}"


@pytest.mark.worker
def test_an_expired_token_mid_run_is_renewed_once(spark, only_spark, start_worker):
    start_worker(PROVIDERS="spark")
    ana = tenant()
    wait_until(lambda: row_of(ana).state == State.SYNCED)
    spark.expire_tokens()
    tank = services.save(Resource(tenant=ana, kind=Resource.Kind.BATTERY, capacity=10_000))
    wait_until(lambda: row_of(tank).state == State.SYNCED, message="resource synced")
    calls = list(ApiCall.objects.order_by("started_at").values_list("method", "path", "status"))
    refused = calls.index(("POST", f"/users/{row_of(ana).remote_id}/resources", 401))
    assert calls[refused + 1] == ("POST", "/sandbox/spark/identity/connect/token", 200)
    assert calls[refused + 2][2] == 201
    token_call = ApiCall.objects.filter(path__endswith="/connect/token").first()
    assert "***" in token_call.response_body and "sandbox-secret" not in token_call.request_body


# --- stepped through in the foreground --------------------------------------------------


def test_a_meter_waits_for_its_tenant_then_goes(spark, only_spark):
    ana = tenant()
    spark.fault("rate_limit", count=1, retry_after=0, path="/users")  # not created: try again
    meter = services.save(Meter(tenant=ana, meter_point_id="CH-9"))
    sync()
    assert row_of(ana).state == State.PENDING and row_of(meter).state == State.PENDING
    assert "Waiting for" in row_of(meter).last_error
    assert spark.requests_to("POST /users/{userId}/meters") == 0
    sync()
    assert row_of(meter).state == State.SYNCED and spark.count("meters") == 1


def test_a_400_shows_the_platforms_message_then_syncs_when_fixed(spark, only_spark):
    ana = tenant()
    # Staff bypassed validation (an import of old data, say): the platform refuses it.
    meter = services.save(Meter(tenant=ana, meter_point_id=""), validate=False)
    sync()
    row = row_of(meter)
    assert row.state == State.FAILED and row.attempts == 0
    assert row.last_error == (
        "Volue Spark refused it: One or more validation errors occurred. "
        "meterPointId: The meterPointId field is required."
    )
    meter.meter_point_id = "CH-1"
    services.save(meter)
    sync()
    assert row_of(meter).state == State.SYNCED and spark.count("meters") == 1


def test_a_user_create_without_answer_asks_a_person_and_retry_creates(spark, only_spark):
    spark.fault("timeout", count=1, delay=3, path="/users")
    ana = tenant()
    car = services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))
    sync()
    sync()
    row = row_of(ana)
    assert row.state == State.NEEDS_ATTENTION and row.outcome_unknown
    assert "Spark users carry nothing of ours to find them by" in row.last_error
    assert spark.count("users") == 1 and spark.requests_to("POST /users") == 1
    # It waits for its tenant, and says that the tenant needs a person.
    assert row_of(car).state == State.NEEDS_ATTENTION
    assert row_of(car).last_error.startswith(f"Waiting for {ana}, which failed")

    services.retry([row])  # "look again": nothing to find, nothing sent
    sync()
    assert row_of(ana).state == State.NEEDS_ATTENTION and spark.count("users") == 1
    services.retry([row], resend_unknown=True)  # staff decided: create it again
    sync()
    assert row_of(ana).state == State.SYNCED and row_of(car).state == State.SYNCED
    state = spark.state()
    assert state["counts"]["users"] == 2  # as the message warned: the first stays behind
    owner = next(u for u in state["users"] if u["userId"] == row_of(ana).remote_id)
    assert [v["vehicleId"] for v in owner["vehicles"]] == [str(car.vehicle_id)]


@pytest.mark.parametrize(
    "fault",
    [{"mode": "error", "status": 502}, {"mode": "maintenance"}],
    ids=["502", "maintenance page"],
)
def test_an_answer_that_proves_nothing_arrived_asks_no_person(spark, only_spark, fault):
    """Issue 14: a gateway's 502 or a proxy's maintenance page shows the user create never
    reached Spark, so it is simply sent again, and its tenant's car is not held up."""
    spark.fault(count=1, path="/users", **fault)
    ana = tenant()
    car = services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))
    sync()
    assert row_of(ana).state == State.PENDING and not row_of(ana).outcome_unknown
    sync()
    sync()
    assert row_of(ana).state == State.SYNCED and row_of(car).state == State.SYNCED
    assert spark.count("users") == 1 and spark.requests_to("POST /users") == 2


def test_a_vehicle_already_there_is_adopted_not_duplicated(spark, only_spark, live_server):
    ana = tenant()
    sync()
    car = services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))
    # Registered by an earlier run whose row was lost (a restored backup, say).
    GuideClient(
        f"{spark.root}/energy-coordination/v1",
        f"{spark.root}/identity/connect/token",
        "portal-sandbox",
        "sandbox-secret",
    ).create_vehicle(
        row_of(ana).remote_id,
        {"vehicleId": str(car.vehicle_id), "metadata": {"brand": "Tesla", "model": "Model 3"}},
    )
    sync()
    assert row_of(car).state == State.SYNCED
    assert row_of(car).remote_id == f"{row_of(ana).remote_id}/{car.vehicle_id}"
    assert spark.count("vehicles") == 1
    assert spark.requests_to("POST /users/{userId}/vehicles") == 2  # ours got 409, adopted


def test_changes_spark_cannot_take_are_refused_before_saving(spark, only_spark):
    ana = tenant()
    bea = services.save(TenantUser(unit=ana.unit, name="Bea", email="bea@example.org"))
    car = services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))
    sync()
    car.year = 2023
    with pytest.raises(ValidationError, match="Spark cannot change a vehicle once registered"):
        services.save(car)
    car.year, car.tenant = None, bea
    with pytest.raises(ValidationError, match="Spark cannot move a vehicle to another user"):
        services.save(car)

    # What slips past the form (an import, the shell) is not reported as synced either.
    services.save(car, validate=False)
    sync()
    assert row_of(car).state == State.NEEDS_ATTENTION
    assert "Spark cannot move a vehicle to another user" in row_of(car).last_error
    car.tenant, car.year = ana, 2023
    services.save(car, validate=False)
    sync()
    assert "Spark has no API to change a vehicle" in row_of(car).last_error
    assert spark.requests_to("POST /users/{userId}/vehicles") == 1


def test_deletes_go_to_spark_first(spark, only_spark):
    ana = household()
    sync()
    car = ana.vehicles.first()
    assert services.delete(car) is False
    sync()
    assert not Vehicle.objects.filter(pk=car.pk).exists()
    assert spark.count("vehicles") == 1

    assert services.delete(ana) is False
    sync()
    assert not TenantUser.objects.filter(pk=ana.pk).exists()
    state = spark.state()
    assert [state["counts"][k] for k in ("users", "meters", "vehicles", "resources")] == [0] * 4


def test_admin_shows_spark_per_object_with_filter_retry_and_calls(spark, only_spark, admin_client):
    ana = household()
    meter = ana.meters.get()
    meter.meter_point_id = ""
    services.save(meter, validate=False)
    sync()
    for model, obj in (
        (TenantUser, ana),
        (Meter, meter),
        (Vehicle, ana.vehicles.first()),
        (Resource, ana.resources.first()),
    ):
        opts = model._meta
        listing = admin_client.get(reverse(f"admin:onboarding_{opts.model_name}_changelist"))
        state = "Failed" if obj == meter else "Synced"
        assert f"Volue Spark: {state}" in listing.content.decode()
        change = admin_client.get(reverse(f"admin:onboarding_{opts.model_name}_change",
                                          args=[obj.pk])).content.decode()  # fmt: skip
        assert "Volue Spark" in change and "POST" in change  # its row, its recent calls

    meters = reverse("admin:onboarding_meter_changelist")
    assert "CH10123" not in admin_client.get(meters + "?sync=synced").content.decode()
    meter.meter_point_id = "CH-2"
    meter.save()  # fixed behind the outbox's back; staff press Retry
    admin_client.post(meters, {"action": "retry_sync", "_selected_action": [meter.pk]})
    sync()
    assert row_of(meter).state == State.SYNCED


def test_check_providers_spark(spark, only_spark, portal):
    out = StringIO()
    call_command("check_providers", "spark", stdout=out)
    assert "Volue Spark: OK" in out.getvalue()


@pytest.mark.parametrize(
    ("setting", "value", "sentence"),
    [
        ("SPARK_TOKEN_URL", "", "no token URL is configured for Spark's identity server"),
        ("SPARK_CLIENT_ID", "", "no client id or client secret is configured"),
        ("SPARK_TOKEN_URL", "http://127.0.0.1:1/connect/token",
         "Spark's identity server at 127.0.0.1:1 unreachable"),
        ("SPARK_PATHS", "{vehicle: x}", "the Spark settings are invalid: SPARK_PATHS is not JSON"),
        ("SPARK_PATHS", '{"vehicel": "/x"}', "unknown Spark path names: vehicel"),
        ("SPARK_WEBHOOK_FIELDS", "both", "webhook_fields must be one of current, guide"),
        ("SPARK_API", "v2", "the Spark settings are invalid: SPARK_API must be one of current, "
         "guide"),
        ("SPARK_REPORT_UNITS", "si", "SPARK_REPORT_UNITS must be one of reports, guide"),
    ],
)  # fmt: skip
def test_check_providers_spark_says_what_is_wrong_in_one_sentence(
    worker_env, setting, value, sentence
):
    """Run as an operator would: a real process, a real exit code, no stack trace."""
    import subprocess
    import sys

    from .conftest import ROOT

    env = {
        **worker_env,
        "PROVIDERS": "spark",
        "SPARK_BASE_URL": worker_env["SANDBOX_BASE_URL"] + "/sandbox/spark/energy-coordination/v1",
        "SPARK_TOKEN_URL": worker_env["SANDBOX_BASE_URL"] + "/sandbox/spark/identity/connect/token",
        "SPARK_CLIENT_ID": "portal-sandbox",
        "SPARK_CLIENT_SECRET": "sandbox-secret",
        setting: value,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check_providers", "spark"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert sentence in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# --- the Resource model ------------------------------------------------------------------


def test_resource_fields_are_checked_with_messages_staff_can_act_on(only_spark):
    ana = tenant()
    battery = Resource(tenant=ana, kind=Resource.Kind.BATTERY, heating_elements="1750")
    with pytest.raises(ValidationError) as wrong_kind:
        battery.full_clean()
    assert "Only hot-water tanks and electric boilers" in str(wrong_kind.value)

    tank = Resource(tenant=ana, kind=Resource.Kind.HOT_WATER_TANK, heating_elements="1750; 2kW")
    with pytest.raises(ValidationError) as wrong_format:
        tank.full_clean()
    assert "in watts" in str(wrong_format.value)

    tank.heating_elements = " 1750 ,1250"
    tank.capacity = 0
    with pytest.raises(ValidationError, match="capacity"):
        tank.full_clean()
    tank.capacity = 300
    tank.full_clean()
    assert tank.heating_element_watts == [1750, 1250]
    assert str(tank) == "Hot-water tank"
