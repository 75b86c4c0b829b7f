"""Spark webhooks, events and reports against the Spark sandbox (the current form unless
a test says otherwise): real HTTP (the sandbox really POSTs its signed events to our
receiver on the live server), real database, real Celery worker for reports; "exactly
once" is asked of the sandbox itself."""

import json
import uuid
from contextlib import suppress
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from onboarding import services
from onboarding.models import Meter, SyncRecord, TenantUser, Vehicle
from providers.spark.events.models import ChargeReport, SparkEvent, WebhookSubscription
from providers.spark.events.reports import report_charge
from providers.spark.events.signature import sign

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
    assert state["webhooks"][0]["webhookUrl"] == receiver
    assert ours.status == "New"  # the spec's WebhookStatus, from Spark's answer

    out = command("spark_webhooks", "test", ours.webhook_id)
    assert "answered 200" in out
    stored = SparkEvent.objects.get()
    delivery = spark.state()["deliveries"][0]
    assert delivery["delivered"] and delivery["attempts"] == 1
    assert stored.notification_id == delivery["notificationId"]
    assert stored.key == stored.event_id  # one event, one row, whichever way it came
    assert stored.notification_type == "WebhookTest" and stored.subscription == ours
    assert stored.payload["webhookId"] == ours.webhook_id

    assert f"{ours.webhook_id}  {receiver}  (here and on Spark active, Healthy)" in command(
        "spark_webhooks", "list"
    )
    ours.refresh_from_db()
    assert ours.status == "Healthy"


def test_create_with_an_operators_secret_and_delete(spark, only_spark, receiver):
    command("spark_webhooks", "create", "--url", receiver, "--secret", "held-by-operator")
    ours = WebhookSubscription.objects.get()
    assert ours.secret == "held-by-operator"
    command("spark_webhooks", "test", ours.webhook_id)
    sent = spark.state()["deliveries"][0]
    assert SparkEvent.objects.get().notification_id == sent["notificationId"]

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
    body = event(notification_id="n-1", event_id="e-1")
    first = post(receiver, body, sign("s3cret", body))
    stored = SparkEvent.objects.get()
    again = post(receiver, body, sign("s3cret", body))
    assert first.json() == {"stored": True, "key": "e-1"}
    assert again.status_code == 200 and again.json() == {"stored": False, "key": "e-1"}
    assert SparkEvent.objects.get().received_at == stored.received_at  # unchanged
    # The same event notified again (another subscription, another notificationId).
    other = event(notification_id="n-2", event_id="e-1")
    assert post(receiver, other, sign("s3cret", other)).json() == {"stored": False, "key": "e-1"}

    # Without an eventId the notificationId is the key.
    body = json.dumps({"notificationId": "n-7", "payload": {}}).encode()
    assert post(receiver, body, sign("s3cret", body)).json() == {"stored": True, "key": "n-7"}
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


# --- webhooks never made twice; events caught up after downtime ----------------------


def test_a_webhook_whose_create_answer_was_lost_is_adopted_not_made_twice(
    spark, only_spark, receiver
):
    spark.fault("timeout", count=1, delay=3, path="/webhooks")  # made on Spark, answer lost
    out = command("spark_webhooks", "create", "--url", receiver, "--name", "portal")
    ours = WebhookSubscription.objects.get()
    state = spark.state()
    assert [w["webhookId"] for w in state["webhooks"]] == [ours.webhook_id]
    assert f"Created webhook {ours.webhook_id}" in out
    assert spark.requests_to("POST /webhooks") == 1  # found by GET /webhooks, not re-made
    assert spark.requests_to("GET /webhooks") == 1
    assert spark.requests_to("PATCH /webhooks/{webhookId}") == 1  # its secret set to ours
    # Its deliveries verify: the secret we hold is the one Spark signs with.
    command("spark_webhooks", "test", ours.webhook_id)
    assert SparkEvent.objects.get().subscription == ours


def test_a_lost_create_that_cannot_be_looked_up_at_once_is_found_by_the_next(
    spark, only_spark, receiver
):
    spark.fault("timeout", count=1, delay=3, path="/webhooks")
    # The look-up right after (a read: tried three times).
    spark.fault("error", count=3, status=503, path="/webhooks")
    with pytest.raises(CommandError, match="ReadTimeout"):
        command("spark_webhooks", "create", "--url", receiver, "--name", "portal")
    waiting = WebhookSubscription.objects.get()
    assert waiting.webhook_id == "" and waiting.secret
    assert "(no id yet)" in command("spark_webhooks", "list")

    command("spark_webhooks", "create", "--url", receiver, "--name", "portal")
    ours = WebhookSubscription.objects.get()
    assert ours.pk == waiting.pk and ours.webhook_id
    assert spark.count("webhooks") == 1 and spark.requests_to("POST /webhooks") == 1
    # A second subscription for the same URL on purpose (rotating its secret) is made.
    command("spark_webhooks", "create", "--url", receiver, "--name", "portal")
    assert spark.count("webhooks") == 2 and WebhookSubscription.objects.count() == 2


def spark_api(spark):
    from providers.spark.client_current import CurrentClient

    return CurrentClient(
        f"{spark.root}/energy-coordination/v1", f"{spark.root}/identity/connect/token",
        "portal-sandbox", "sandbox-secret",
    )  # fmt: skip


def simulate(spark) -> str:
    """Spark makes an event (the spec's simulation endpoint); its eventId."""
    token = spark_api(spark).identity.fetch().value
    answer = requests.post(
        f"{spark.root}/energy-coordination/v1/simulation/events/usereligibility",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["simulatedEvent"]["id"]


def test_events_missed_while_we_were_down_are_caught_up_once(spark, only_spark, receiver):
    command("spark_webhooks", "create", "--url", receiver, "--type", "UserEligibilityUpdated")
    ours = WebhookSubscription.objects.get()
    delivered = simulate(spark)
    assert list(SparkEvent.objects.values_list("key", flat=True)) == [delivered]

    # Down: every delivery is refused (401 here), Spark retries 3 times and gives up.
    WebhookSubscription.objects.update(active=False)
    missed = [simulate(spark), simulate(spark)]
    assert SparkEvent.objects.count() == 1
    assert spark.state()["webhooks"][0]["status"] == "Unhealthy"
    WebhookSubscription.objects.update(active=True)

    out = command("spark_webhooks", "catch-up")
    assert "Spark events: 2 new of 3 events on 1 page(s); caught up." in out
    assert set(SparkEvent.objects.values_list("key", flat=True)) == {delivered, *missed}
    caught = SparkEvent.objects.get(key=missed[0])
    assert caught.source == SparkEvent.Source.CATCH_UP and caught.event_id == missed[0]
    assert caught.payload["payloadType"] == "UserEligibility"

    # Again, or by beat: nothing twice; a delivery of a caught-up event changes nothing.
    from providers.spark.events.tasks import catch_up

    assert catch_up().startswith("0 new of 3 events")
    assert SparkEvent.objects.count() == 3
    command("spark_webhooks", "list")  # reads the status back
    ours.refresh_from_db()
    assert ours.status == "Unhealthy"


def test_a_catch_up_cut_short_leaves_the_cursor_and_goes_on_next_time(spark, only_spark):
    from providers.errors import TransientError
    from providers.spark.events.catch_up import catch_up
    from providers.spark.events.models import EventCatchUp

    events = [simulate(spark) for _ in range(5)]  # no webhook: nothing delivered
    client = spark_api(spark)
    spark.fault("error", count=1, status=500, path="/events")
    with pytest.raises(TransientError):
        catch_up(client, page_size=2)
    state = EventCatchUp.objects.get()
    assert state.caught_up_to is None and "GET /events failed: HTTP 500" in state.last_error

    short = catch_up(client, page_size=2, max_pages=1)  # the two newest, no more
    assert (short.pages, short.stored, short.complete) == (1, 2, False)
    assert EventCatchUp.objects.get().caught_up_to is None  # not caught up: not moved
    result = catch_up(client, page_size=2)
    assert (result.pages, result.fetched, result.stored, result.complete) == (3, 5, 3, True)
    assert set(SparkEvent.objects.values_list("key", flat=True)) == set(events)
    state = EventCatchUp.objects.get()
    assert state.caught_up_to is not None and state.last_error == ""


# --- reports ---------------------------------------------------------------------------


def car_on_spark(**meter) -> Vehicle:
    """A tenant's car (and, with coordinates given, the tenant's meter there)."""
    home = building()
    ana = services.save(TenantUser(unit=unit(home, "Flat 1"), name="Ana", email="a@example.org"))
    if meter:
        services.save(Meter(tenant=ana, meter_point_id="CH-MP-1", **meter))
    return services.save(Vehicle(tenant=ana, brand="Tesla", model="Model 3"))


def synced(obj) -> bool:
    row = obj.sync_records.filter(provider="spark").first()
    return row is not None and row.state == State.SYNCED


def sync_now() -> None:
    with suppress(CommandError):
        call_command("sync_pending", "--provider", "spark", stdout=StringIO(), stderr=StringIO())
    SyncRecord.objects.filter(provider="spark", state=State.PENDING).update(
        not_before=timezone.now()
    )


@pytest.mark.worker
def test_a_report_answering_an_event_reaches_spark_once_through_a_worker(
    spark, only_spark, start_worker, receiver
):
    command("spark_webhooks", "create", "--url", receiver, "--type", "UserEligibilityUpdated")
    event_id = simulate(spark)
    answered = SparkEvent.objects.get(key=event_id)  # stored by the receiver
    start_worker(PROVIDERS="spark")
    car = car_on_spark()
    wait_until(lambda: synced(car), timeout=60, message="vehicle on Spark")
    # A 429 is known not to have created anything: the worker sends again after it. (A
    # 5xx may have created the report: that case is the test below, a person decides.)
    spark.fault("rate_limit", count=1, retry_after=0, path="/reports")
    report = report_charge(
        car, "Start", power=11000, state_of_charge="50", battery_capacity="75",
        latitude="63.100000", longitude="10.700000", event=answered,
    )  # fmt: skip
    wait_until(lambda: synced(report), timeout=60, message="report synced")

    state = spark.state()
    assert state["counts"]["reports"] == 1 and state["counts"]["refused_bodies"] == 0
    sent = state["reports"][0]
    assert sent["eventId"] == event_id  # the event's own id, as Spark's Reports page says
    assert sent["name"] == ""  # the current API's report has no name
    assert sent["payloads"] == [
        {
            "payloadType": "VehicleChargeAction",
            "resourceId": str(car.vehicle_id),
            "location": {"latitude": 63.1, "longitude": 10.7},
            "actionType": "Start",
            "power": 11000,
            "stateOfCharge": 50.0,  # percent
            "batteryCapacity": 75.0,  # kWh
        }
    ]
    report.refresh_from_db()
    assert report.spark_report_id == sent["id"]
    assert spark.requests_to("POST /reports") == 2  # the 429, then the one report


def test_the_guides_units_and_form_when_set(spark, only_spark, settings):
    settings.SPARK_API = "guide"
    settings.SPARK_REPORT_UNITS = "guide"
    car = car_on_spark(latitude="47.370000", longitude="8.540000")
    report = report_charge(car, "Stop", power=0, state_of_charge="80", battery_capacity="75")
    for _ in range(3):
        sync_now()
    assert synced(report)
    [sent] = spark.state()["reports"]
    assert sent["name"] == "Vehicle Stopped charging" and not sent["eventId"]
    item = sent["payloads"][0]
    assert (item["stateOfCharge"], item["batteryCapacity"]) == (0.8, 75000.0)  # fraction, Wh
    assert item["location"] == {"latitude": 47.37, "longitude": 8.54}  # the tenant's meter's


def test_a_report_whose_answer_was_lost_is_not_sent_again_blindly(spark, only_spark):
    car = car_on_spark()
    sync_now()
    sync_now()
    assert synced(car)
    spark.fault("timeout", count=1, delay=3, path="/reports")  # created, answer lost
    out = command(
        "spark_report", str(car.vehicle_id), "stop", "--power", "0", "--soc", "80",
        "--capacity", "75", "--lat", "47.37", "--lon", "8.54",
    )  # fmt: skip
    report = ChargeReport.objects.get()
    assert f"Queued report {report.reference}" in out
    sync_now()
    sync_now()
    row = report.sync_records.get(provider="spark")
    assert row.state == State.NEEDS_ATTENTION and row.outcome_unknown
    assert str(car.vehicle_id) in row.last_error
    assert spark.requests_to("POST /reports") == 1 and spark.count("reports") == 1
    services.retry([row])  # "look again": Spark cannot, nothing is sent
    sync_now()
    assert spark.requests_to("POST /reports") == 1


def test_a_report_refused_by_a_maintenance_page_is_simply_sent_again(spark, only_spark):
    car = car_on_spark(latitude="47.370000", longitude="8.540000")
    for _ in range(2):
        sync_now()
    spark.fault("maintenance", count=1, path="/reports")  # proves nothing arrived
    report = report_charge(car, "Start", power=7400, state_of_charge=20, battery_capacity=50)
    sync_now()
    sync_now()
    assert synced(report) and spark.count("reports") == 1
    assert spark.requests_to("POST /reports") == 2


def test_a_report_waits_for_its_vehicle(spark, only_spark):
    car = car_on_spark(latitude="47.370000", longitude="8.540000")
    report = report_charge(car, "Start", power=7400, state_of_charge=20, battery_capacity=50)
    for _ in range(4):
        sync_now()
    assert synced(car) and synced(report)
    sent = spark.state()["reports"][0]["payloads"][0]
    assert sent["resourceId"] == str(car.vehicle_id) and sent["stateOfCharge"] == 20

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
    with pytest.raises(CommandError, match="less than or equal to 100"):
        command(
            "spark_report", str(car.pk), "start", "--power", "1", "--soc", "150",
            "--capacity", "1", "--lat", "1", "--lon", "1",
        )  # fmt: skip
    # Spark needs the place of charging: neither given nor on the tenant's meter.
    with pytest.raises(CommandError, match="Spark needs the place of charging"):
        command("spark_report", str(car.pk), "start", "--power", "1", "--soc", "5",
                "--capacity", "1")  # fmt: skip
    with pytest.raises(CommandError, match="No Spark event nope is stored"):
        command("spark_report", str(car.pk), "start", "--power", "1", "--soc", "5",
                "--capacity", "1", "--lat", "1", "--lon", "1", "--event", "nope")  # fmt: skip
    assert not ChargeReport.objects.exists()


def test_vehicle_admin_page_offers_a_charge_report(spark, only_spark, admin_client):
    car = car_on_spark(latitude="47.370000", longitude="8.540000")
    page = admin_client.get(reverse("admin:onboarding_vehicle_change", args=[car.pk]))
    text = page.content.decode()
    add = reverse("admin:spark_events_chargereport_add") + f"?vehicle={car.pk}"
    assert "Report a charge action to Spark" in text and add in text
    answer = admin_client.post(
        reverse("admin:spark_events_chargereport_add"),
        {"vehicle": car.pk, "action": "Start", "power": 11000, "state_of_charge": "50",
         "battery_capacity": "75", "latitude": "", "longitude": "", "event": ""},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:3000]
    report = ChargeReport.objects.get()
    assert (report.latitude, report.longitude) == (Decimal("47.37"), Decimal("8.54"))
    assert report.sync_records.get(provider="spark").state == State.PENDING
    assert (
        "Started charging"
        in admin_client.get(
            reverse("admin:onboarding_vehicle_change", args=[car.pk])
        ).content.decode()
    )
