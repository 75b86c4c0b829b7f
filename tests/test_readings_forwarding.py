"""Forwarding readings to Zählerfreunde with real Celery worker processes, the sandbox over
real HTTP, its fault switches, and its own state asked for what arrived."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from onboarding import services
from onboarding.catalogue import links
from onboarding.models import ApiCall, CatalogueEntry, Device, SyncRecord
from onboarding.readings import queue, tasks
from onboarding.readings.models import Forwarding, Reading
from providers.smartme import realtime
from providers.smartme.realtime import DeviceData
from providers.zaehlerfreunde.readings import their_code
from providers.zaehlerfreunde.sandbox import models as zf

from .conftest import wait_until
from .factories import building, device, unit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
SECRET = "forwarding-test-secret"
State = Forwarding.State
START = datetime(2025, 9, 1, tzinfo=UTC)
# Codes Zählerfreunde takes (its spec lists no power code: 1.7.0 is not forwarded there).
CODES = ("1-0:1.8.0*255", "1-0:2.8.0*255", "1-0:1.29.0*255")


@pytest.fixture
def deliver(portal, live_server):
    portal.SMARTME_WEBHOOK_SECRET = SECRET
    url = f"{live_server.url}/webhooks/smartme/{SECRET}/"

    def post(remote_id: str, first: int, count: int) -> None:
        """`count` deliveries of three values each, one minute apart from minute `first`."""
        for minute in range(first, first + count):
            when = START + timedelta(minutes=minute)
            # smart-me's milli-units (mWh): stored and sent as minute*10+i kWh.
            values = tuple((code, (minute * 10.0 + i) * 1e6) for i, code in enumerate(CODES))
            body = realtime.encode([DeviceData(remote_id, when, values)])
            response = requests.post(url, data=body, timeout=10)
            assert response.status_code == 200, response.text

    return post


def synced_meter(
    name: str = "Meter 1", external_id: str = "CH-0001", **fields
) -> tuple[Device, str]:
    """A device on Zählerfreunde (through the outbox) and linked to a smart-me device."""
    home = building(f"Haus {name}")
    meter = device(unit(home, "Flat 1"), name, external_id=external_id, **fields)
    wait_until(
        lambda: meter.sync_records.filter(provider="zaehlerfreunde", state="synced").exists(),
        message="device synced to Zählerfreunde",
    )
    remote_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=remote_id, name=name,
        first_seen=now, last_seen=now,
    )  # fmt: skip
    links.link_device(meter, entry)
    return Device.objects.get(pk=meter.pk), remote_id


def remote_readings() -> set[tuple[str, str, datetime, float]]:
    """What the Zählerfreunde sandbox holds (its own table): (external id, OBIS, time,
    value)."""
    return {
        (r.device.external_device_id, r.obis_code, r.timestamp, r.value)
        for r in zf.Reading.objects.select_related("device")
    }


def expected_remotely(external_id: str, minutes: range) -> set[tuple]:
    return {
        (external_id, their_code(code), START + timedelta(minutes=m), m * 10.0 + i)
        for m in minutes
        for i, code in enumerate(CODES)
    }


def forwarding(meter: Device) -> Forwarding:
    return Forwarding.objects.get(device=meter, destination="zaehlerfreunde")


def caught_up(meter: Device):
    def check():
        row = forwarding(meter)
        last = Reading.objects.filter(device=meter).order_by("-id").values_list("id", flat=True)
        return row.state == State.IDLE and row.cursor == (last.first() or 0)

    return check


def test_readings_reach_zaehlerfreunde_in_batches_once(sandbox, deliver, start_worker):
    start_worker(READINGS_FORWARD_BATCH=4)
    meter, remote = synced_meter()
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")

    deliver(remote, 0, 5)  # 15 readings
    wait_until(caught_up(meter), message="forwarding caught up")

    assert remote_readings() == expected_remotely("CH-0001", range(5))
    assert sandbox.state()["readings_count"] == 15
    row = forwarding(meter)
    assert row.forwarded_count == 15
    assert row.last_error == ""
    # Nothing sent twice: every POST carried readings the platform did not have yet.
    posts = ApiCall.objects.filter(path="/devices/readings", status=200)
    assert sum(c.request_body.count('"obisCode"') for c in posts) == 15
    assert sandbox.requests_to("POST /devices/readings") == posts.count()
    calls = ApiCall.objects.filter(path="/devices/readings")
    assert set(calls.values_list("object_id", flat=True)) == {meter.pk}  # on its page


def test_failing_mid_stream_resumes_with_no_gap_and_no_duplicate(sandbox, deliver, start_worker):
    """Accepted batches stay accepted, the failed batch is the next one sent, a batch
    whose answer was lost (stored, then a timeout) is sent once more and replaced, not
    doubled, and nothing after it is skipped."""
    start_worker(READINGS_FORWARD_BATCH=4)
    meter, remote = synced_meter()
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    deliver(remote, 0, 4)  # 12 readings: three batches, accepted
    wait_until(caught_up(meter), message="first readings forwarded")
    accepted_cursor = forwarding(meter).cursor
    posts_before = sandbox.requests_to("POST /devices/readings")

    # The platform now fails: two 500s, then one answer lost after it stored the batch
    # (the client gives up after PROVIDER_TIMEOUT_SECONDS = 2 s), then it recovers.
    sandbox.fault("error", count=2, status=500, path="/devices/readings")
    sandbox.fault("timeout", count=1, delay=3, path="/devices/readings")
    deliver(remote, 4, 8)  # 24 more readings: six batches

    wait_until(caught_up(meter), timeout=60, message="forwarding resumed and caught up")
    assert remote_readings() == expected_remotely("CH-0001", range(12))
    assert sandbox.state()["readings_count"] == 36
    row = forwarding(meter)
    assert row.forwarded_count == 36
    assert row.attempts == 0 and row.last_error == ""
    # Six batches plus the three failed tries (the timed-out one is the only resend).
    assert sandbox.requests_to("POST /devices/readings") - posts_before == 6 + 3
    failed = ApiCall.objects.filter(path="/devices/readings").exclude(status=200)
    assert failed.count() == 3
    # The batch after the accepted ones was the first sent again: no gap in between.
    first_failed = failed.order_by("started_at").first()
    first_id = Reading.objects.filter(device=meter, id__gt=accepted_cursor).order_by("id").first()
    minute = int((first_id.timestamp - START).total_seconds() // 60)
    assert f'"timestamp": {int((START + timedelta(minutes=minute)).timestamp())}' in (
        first_failed.request_body
    )


def test_a_refused_batch_is_flagged_and_goes_after_a_retry(sandbox, deliver, start_worker):
    start_worker(READINGS_FORWARD_BATCH=50)
    meter, remote = synced_meter()
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    sandbox.fault("error", count=1, status=400, path="/devices/readings")

    deliver(remote, 0, 2)
    wait_until(lambda: forwarding(meter).state == State.FAILED, message="flagged as failed")
    row = forwarding(meter)
    assert "Zählerfreunde refused the readings after id 0" in row.last_error
    assert row.cursor == 0
    assert sandbox.state()["readings_count"] == 0
    # Flagged, not retried by itself: the sweep leaves it alone.
    tasks.sweep()
    deliver(remote, 2, 1)  # new readings do not wake a failed forwarding either
    assert forwarding(meter).state == State.FAILED

    queue.make_due(Forwarding.objects.filter(pk=row.pk))  # staff's Retry
    queue.enqueue([row.pk])
    wait_until(caught_up(meter), message="forwarded after the retry")
    assert remote_readings() == expected_remotely("CH-0001", range(3))


def test_readings_wait_for_the_device_to_reach_zaehlerfreunde(
    sandbox, deliver, start_worker, portal
):
    portal.SYNC_DEPENDENCY_WAIT_SECONDS = 0.5
    sandbox.fault("error", count=1, status=400, path="/devices")  # its create is refused
    home = building("Haus Warten")
    meter = device(unit(home, "Flat 1"), "Meter W", external_id="CH-WAIT")
    remote = str(uuid.uuid4())
    now = datetime.now(UTC)
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=remote, first_seen=now, last_seen=now
    )
    links.link_device(meter, entry)
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    start_worker(SYNC_DEPENDENCY_WAIT_SECONDS=0.5)
    wait_until(
        lambda: meter.sync_records.filter(provider="zaehlerfreunde", state="failed").exists(),
        message="device refused",
    )

    deliver(remote, 0, 2)
    wait_until(lambda: "Waiting for" in forwarding(meter).last_error, message="waiting")
    assert forwarding(meter).state == State.PENDING
    assert sandbox.requests_to("POST /devices/readings") == 0

    # Staff fix and retry the device; the forwarding's next look finds it there.
    row = meter.sync_records.get(provider="zaehlerfreunde")
    services.retry([row])
    wait_until(lambda: SyncRecord.objects.get(pk=row.pk).state == "synced", message="synced")

    def swept_and_caught_up():
        tasks.sweep()
        return caught_up(meter)()

    wait_until(swept_and_caught_up, timeout=30, interval=0.5, message="forwarded once there")
    assert remote_readings() == expected_remotely("CH-WAIT", range(2))


def test_linking_attaches_waiting_readings_which_are_then_forwarded(sandbox, deliver, start_worker):
    start_worker()
    home = building("Haus Spät")
    meter = device(unit(home, "Flat 1"), "Meter L", external_id="CH-LATE")
    wait_until(
        lambda: meter.sync_records.filter(provider="zaehlerfreunde", state="synced").exists(),
        message="device synced",
    )
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    remote = str(uuid.uuid4())
    now = datetime.now(UTC)
    # In the catalogue (only such devices' readings may wait), but linked to nobody yet.
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=remote, first_seen=now, last_seen=now
    )
    deliver(remote, 0, 3)  # nobody is linked to it yet: they wait
    assert Reading.objects.count() == 0

    links.link_device(meter, entry)  # the worker attaches them, then forwards them

    wait_until(lambda: Reading.objects.filter(device=meter).count() == 9, message="attached")
    wait_until(caught_up(meter), message="forwarded")
    assert remote_readings() == expected_remotely("CH-LATE", range(3))


def test_readings_wait_for_a_new_external_id_to_reach_zaehlerfreunde(
    sandbox, deliver, start_worker
):
    """Readings go by external id: sent under a new one before the platform has it, they
    would be refused. The forwarding waits for the device's change instead."""
    start_worker()
    meter, remote = synced_meter(external_id="CH-OLD")
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    sandbox.fault("error", count=3, status=503, path="/details")  # the change is slow to go

    meter.external_device_id = "CH-NEW"
    services.save(meter)
    deliver(remote, 0, 2)

    wait_until(caught_up(meter), timeout=30, message="forwarded after the change")
    assert remote_readings() == expected_remotely("CH-NEW", range(2))
    refused = ApiCall.objects.filter(path="/devices/readings").exclude(status=200)
    assert not refused.exists()
    assert sandbox.requests_to("POST /spaces/{spaceId}/devices/{deviceId}/details") == 4


# The smart-me guide's "Parsing-Beispiel", byte for byte (tests/test_smartme_webhook.py).
GUIDE_EXAMPLE = bytes.fromhex(
    "0A5A0A1209E9FCD03B8E9F834111B3D10C1622A22CA1120B08C0C9EAD3A98FE93710051A110A060100"
    "010800FF11333333331FAE3C411A110A060100020800FF1100000000000000001A110A060100010700FF"
    "11713D0AD7A3303840"
)
GUIDE_DEVICE = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1"


def test_the_guides_example_reaches_zaehlerfreunde_in_kwh_without_power(
    sandbox, portal, live_server, worker
):
    """smart-me sends milli-units ("1879583.2 mWh = 1879.5832 Wh"); Zählerfreunde takes
    kWh (its spec's NewReading): the guide's example arrives there as 1.8795832. Its
    power value (1-0:1.7.0) does not go: the spec lists no power code."""
    portal.SMARTME_WEBHOOK_SECRET = SECRET
    meter, _ = synced_meter("Guide meter", external_id="CH-GUIDE")
    now = datetime.now(UTC)
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=GUIDE_DEVICE, first_seen=now, last_seen=now
    )
    links.link_device(meter, entry)
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")

    response = requests.post(
        f"{live_server.url}/webhooks/smartme/{SECRET}/", data=GUIDE_EXAMPLE, timeout=10
    )
    assert response.status_code == 200, response.text
    wait_until(caught_up(meter), message="the guide's example forwarded")

    held = {
        (r.obis_code, r.value)
        for r in zf.Reading.objects.filter(device__external_device_id="CH-GUIDE")
    }
    assert held == {("1.8.0", 1.8795832), ("2.8.0", 0.0)}
    sent = ApiCall.objects.get(path="/devices/readings", status=200).request_body
    assert '"value": 1.8795832' in sent and "1.7.0" not in sent
    assert Reading.objects.filter(device=meter, obis="1-0:1.7.0*255").exists()  # kept here
