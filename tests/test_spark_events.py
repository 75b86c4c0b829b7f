"""Spark webhooks and reports against the Spark sandbox: real HTTP (the sandbox really
POSTs its signed test event to our receiver on the live server), real database, real
Celery worker for reports; "exactly once" is asked of the sandbox itself."""

import json
import uuid
from contextlib import suppress
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from onboarding import services
from onboarding.models import SyncRecord, TenantUser, Vehicle
from spark_events.models import ChargeReport, SparkEvent, WebhookSubscription
from spark_events.reports import report_charge
from spark_events.signature import sign

from .conftest import wait_until
from .factories import building, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


@pytest.fixture
def only_spark(portal):
    portal.PROVIDERS = ["spark"]
    return portal


@pytest.fixture
def receiver(live_server) -> str:
    return live_server.url + "/webhooks/spark/"


def command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def event(notification_id: str | None = None, event_id: str | None = None) -> bytes:
    body = {
        "eventId": event_id or str(uuid.uuid4()),
        "eventCreatedAtUtc": "2026-11-26T12:00:00Z",
        "notificationSentUtc": "2026-11-26T12:00:01Z",
        "notificationType": "PriceCurveCreated",
        "payload": {"payloadType": "PriceCurve", "prices": [0.1, 0.2]},
    }
    if notification_id is not False:
        body["notificationId"] = notification_id or str(uuid.uuid4())
    # Not canonical JSON on purpose: the signature is over these exact bytes.
    return json.dumps(body, indent=1).encode()


def post(url: str, body: bytes, signature: str | None, header: str = "Spark-Signature"):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[header] = signature
    return requests.post(url, data=body, headers=headers, timeout=10)


def subscription(secret: str, *, active: bool = True) -> WebhookSubscription:
    """A subscription as if created on Spark (the receiver needs only its secret)."""
    return WebhookSubscription.objects.create(
        url="https://portal.example.org/webhooks/spark/",
        secret=secret,
        webhook_id=str(uuid.uuid4()),
        active=active,
    )


# --- subscriptions, with the sandbox ---------------------------------------------------


def test_a_test_event_from_the_sandbox_arrives_and_verifies(spark, only_spark, receiver):
    out = command("spark_webhooks", "create", "--url", receiver, "--name", "portal")
    ours = WebhookSubscription.objects.get()
    assert f"Created webhook {ours.webhook_id}" in out and "generated" in out
    assert len(ours.secret) >= 40  # generated, and encrypted at rest:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM spark_events_webhooksubscription")
        assert ours.secret not in cursor.fetchone()[0]
    state = spark.state()
    assert [w["webhookId"] for w in state["webhooks"]] == [ours.webhook_id]
    assert state["webhooks"][0]["webhookUrl"] == receiver and state["webhooks"][0]["hasSecret"]

    out = command("spark_webhooks", "test", ours.webhook_id)
    assert "answered 200" in out
    stored = SparkEvent.objects.get()
    delivery = spark.state()["deliveries"][0]
    assert delivery["delivered"] and delivery["attempts"] == 1
    assert stored.key == delivery["notificationId"] == stored.notification_id
    assert stored.notification_type == "WebhookTest" and stored.subscription == ours
    assert stored.payload["webhookId"] == ours.webhook_id

    assert f"{ours.webhook_id}  {receiver}  (here and on Spark active)" in command(
        "spark_webhooks", "list"
    )


def test_create_with_an_operators_secret_and_delete(spark, only_spark, receiver):
    command("spark_webhooks", "create", "--url", receiver, "--secret", "held-by-operator")
    ours = WebhookSubscription.objects.get()
    assert ours.secret == "held-by-operator"
    command("spark_webhooks", "test", ours.webhook_id)
    sent = spark.state()["deliveries"][0]
    assert SparkEvent.objects.get().key == sent["notificationId"]

    out = command("spark_webhooks", "delete", ours.webhook_id)
    assert "Deleted" in out
    assert spark.count("webhooks") == 0 and not WebhookSubscription.objects.exists()
    assert "No webhooks on Spark." in command("spark_webhooks", "list")
    with pytest.raises(CommandError, match="no subscription"):
        command("spark_webhooks", "test", ours.webhook_id)


def test_spark_refusing_a_webhook_keeps_nothing_here(spark, only_spark):
    with pytest.raises(CommandError, match="Spark: .*webhookUrl"):
        command("spark_webhooks", "create", "--url", "ftp://nowhere")
    assert not WebhookSubscription.objects.exists() and spark.count("webhooks") == 0


def test_admin_creates_tests_and_deletes_on_spark(spark, only_spark, receiver, admin_client):
    add = reverse("admin:spark_events_webhooksubscription_add")
    answer = admin_client.post(
        add, {"name": "admin", "url": receiver, "secret": "", "notification_types": ""}
    )
    assert answer.status_code == 302 and answer.url == reverse(
        "admin:spark_events_webhooksubscription_changelist"
    ), [str(m) for m in answer.wsgi_request._messages]
    ours = WebhookSubscription.objects.get()
    assert spark.state()["webhooks"][0]["webhookId"] == ours.webhook_id
    changelist = reverse("admin:spark_events_webhooksubscription_changelist")
    page = admin_client.get(changelist)
    assert ours.webhook_id in page.content.decode()
    assert ours.secret not in page.content.decode()

    answer = admin_client.post(
        changelist, {"action": "send_test_event", "_selected_action": [ours.pk]}, follow=True
    )
    assert "Spark sent a test event" in answer.content.decode()
    event_page = admin_client.get(reverse("admin:spark_events_sparkevent_changelist"))
    assert SparkEvent.objects.get().key in event_page.content.decode()

    admin_client.post(
        changelist, {"action": "delete_on_spark", "_selected_action": [ours.pk]}, follow=True
    )
    assert spark.count("webhooks") == 0 and not WebhookSubscription.objects.exists()


# --- the receiver ----------------------------------------------------------------------


def test_bad_or_missing_signatures_are_401_and_store_nothing(receiver, live_server):
    subscription("s3cret")
    body = event()
    assert post(receiver, body, None).status_code == 401
    assert post(receiver, body, sign("wrong", body)).status_code == 401
    assert post(receiver, body, "not base64 at all").status_code == 401
    # Signed over other bytes (the same JSON re-serialised) does not count.
    reserialised = json.dumps(json.loads(body)).encode()
    assert post(receiver, body, sign("s3cret", reserialised)).status_code == 401
    # Nor a secret that is switched off.
    subscription("retired", active=False)
    assert post(receiver, body, sign("retired", body)).status_code == 401
    assert not SparkEvent.objects.exists()

    # The same body, rightly signed, under either header name.
    assert post(receiver, body, sign("s3cret", body)).status_code == 200
    other = event()
    assert post(receiver, other, sign("s3cret", other), "X-Payload-Signature").status_code == 200
    assert SparkEvent.objects.count() == 2


def test_a_replayed_event_is_stored_once(receiver, live_server):
    subscription("s3cret")
    body = event(notification_id="n-1")
    first = post(receiver, body, sign("s3cret", body))
    stored = SparkEvent.objects.get()
    again = post(receiver, body, sign("s3cret", body))
    assert first.json() == {"stored": True, "key": "n-1"}
    assert again.status_code == 200 and again.json() == {"stored": False, "key": "n-1"}
    assert SparkEvent.objects.get().received_at == stored.received_at  # unchanged

    # Without a notificationId the eventId is the key.
    body = event(notification_id=False, event_id="e-7")
    assert post(receiver, body, sign("s3cret", body)).json() == {"stored": True, "key": "e-7"}
    assert post(receiver, body, sign("s3cret", body)).json()["stored"] is False
    assert SparkEvent.objects.count() == 2


def test_a_body_that_is_no_event_is_400_and_stores_nothing(receiver, live_server):
    subscription("s3cret")
    for body in (b"not json", b"[1, 2]", json.dumps({"payload": {}}).encode()):
        answer = post(receiver, body, sign("s3cret", body))
        assert answer.status_code == 400, body
    assert not SparkEvent.objects.exists()


def test_rotation_two_active_secrets_both_verify(receiver, live_server):
    old, new = subscription("old-secret"), subscription("new-secret")
    first, second = event(), event()
    assert post(receiver, first, sign("old-secret", first)).status_code == 200
    assert post(receiver, second, sign("new-secret", second)).status_code == 200
    assert {e.subscription_id for e in SparkEvent.objects.all()} == {old.pk, new.pk}
    old.active = False
    old.save()
    third = event()
    assert post(receiver, third, sign("old-secret", third)).status_code == 401
    assert SparkEvent.objects.count() == 2


# --- reports ---------------------------------------------------------------------------


def car_on_spark() -> Vehicle:
    home = building()
    ana = services.save(TenantUser(unit=unit(home, "Flat 1"), name="Ana", email="a@example.org"))
    return services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))


def synced(obj) -> bool:
    row = obj.sync_records.filter(provider="spark").first()
    return row is not None and row.state == State.SYNCED


@pytest.mark.worker
def test_a_report_reaches_spark_exactly_once_through_a_worker(spark, only_spark, start_worker):
    start_worker(PROVIDERS="spark")
    car = car_on_spark()
    wait_until(lambda: synced(car), timeout=60, message="vehicle on Spark")
    # A 429 is known not to have created anything: the worker sends again after it. (A
    # 5xx may have created the report: that case is the test below, a person decides.)
    spark.fault("rate_limit", count=1, retry_after=0, path="/reports")
    report = report_charge(
        car, "Start", power=11000, state_of_charge="0.5", battery_capacity=75000,
        latitude="63.100000", longitude="10.700000",
    )  # fmt: skip
    wait_until(lambda: synced(report), timeout=60, message="report synced")

    state = spark.state()
    assert state["counts"]["reports"] == 1
    sent = state["reports"][0]
    assert sent["eventId"] == str(report.event_id) and sent["name"] == "Vehicle Started charging"
    assert sent["payloads"] == [
        {
            "payloadType": "VehicleChargeAction",
            "resourceId": str(car.vehicle_id),
            "actionType": "Start",
            "power": 11000,
            "stateOfCharge": 0.5,
            "batteryCapacity": 75000,
            "location": {"latitude": 63.1, "longitude": 10.7},
        }
    ]
    report.refresh_from_db()
    assert report.spark_report_id == sent["id"]
    assert spark.requests_to("POST /reports") == 2  # the 429, then the one report


def sync_now() -> None:
    with suppress(CommandError):
        call_command("sync_pending", "--provider", "spark", stdout=StringIO(), stderr=StringIO())
    SyncRecord.objects.filter(provider="spark", state=State.PENDING).update(
        not_before=timezone.now()
    )


def test_a_report_whose_answer_was_lost_is_not_sent_again_blindly(spark, only_spark):
    car = car_on_spark()
    sync_now()
    sync_now()
    assert synced(car)
    spark.fault("timeout", count=1, delay=3, path="/reports")  # created, answer lost
    out = command(
        "spark_report", str(car.vehicle_id), "stop", "--power", "0", "--soc", "0.8",
        "--capacity", "75000",
    )  # fmt: skip
    report = ChargeReport.objects.get()
    assert f"Queued report {report.event_id}" in out
    sync_now()
    sync_now()
    row = report.sync_records.get(provider="spark")
    assert row.state == State.NEEDS_ATTENTION and row.outcome_unknown
    assert str(report.event_id) in row.last_error
    assert spark.requests_to("POST /reports") == 1 and spark.count("reports") == 1
    services.retry([row])  # "look again": Spark cannot, nothing is sent
    sync_now()
    assert spark.requests_to("POST /reports") == 1


def test_a_report_waits_for_its_vehicle(spark, only_spark):
    car = car_on_spark()
    report = report_charge(car, "Start", power=7400, state_of_charge=0.2, battery_capacity=50000)
    for _ in range(4):
        sync_now()
    assert synced(car) and synced(report)
    sent = spark.state()["reports"][0]["payloads"][0]
    assert sent["resourceId"] == str(car.vehicle_id) and sent["stateOfCharge"] == 0.2

    # The vehicle can still go: Spark deletes the vehicle, keeps the report (history).
    services.delete(car)
    for _ in range(3):
        sync_now()
    assert not Vehicle.objects.filter(pk=car.pk).exists()
    assert not ChargeReport.objects.exists()
    state = spark.state()
    assert state["counts"]["vehicles"] == 0 and state["counts"]["reports"] == 1


def test_report_values_are_checked_before_anything_is_queued(only_spark):
    car = car_on_spark()
    with pytest.raises(CommandError, match="less than or equal to 1"):
        command(
            "spark_report", str(car.pk), "start", "--power", "1", "--soc", "1.5",
            "--capacity", "1",
        )  # fmt: skip
    assert not ChargeReport.objects.exists()


def test_vehicle_admin_page_offers_a_charge_report(spark, only_spark, admin_client):
    car = car_on_spark()
    page = admin_client.get(reverse("admin:onboarding_vehicle_change", args=[car.pk]))
    text = page.content.decode()
    add = reverse("admin:spark_events_chargereport_add") + f"?vehicle={car.pk}"
    assert "Report a charge action to Spark" in text and add in text
    answer = admin_client.post(
        reverse("admin:spark_events_chargereport_add"),
        {"vehicle": car.pk, "action": "Start", "power": 11000, "state_of_charge": "0.5",
         "battery_capacity": 75000, "latitude": "", "longitude": ""},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:3000]
    report = ChargeReport.objects.get()
    assert report.sync_records.get(provider="spark").state == State.PENDING
    assert (
        "Started charging"
        in admin_client.get(
            reverse("admin:onboarding_vehicle_change", args=[car.pk])
        ).content.decode()
    )
