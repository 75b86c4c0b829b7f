"""Forwarding readings to zevvy with real Celery worker processes and the zevvy sandbox
over real HTTP: both `_bulk_create` forms, and a lost answer resent without doubling."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from onboarding import connect
from onboarding.catalogue import links
from onboarding.models import ApiCall, CatalogueEntry, Device
from providers.smartme import realtime
from providers.smartme.realtime import DeviceData
from providers.zevvy.sandbox import models as zv
from readings.models import Forwarding, Reading

from .conftest import wait_until
from .factories import building, device, unit
from .zevvy_helpers import ZevvySandbox, decide_on_page

# zevvy alone: a device needs no Zählerfreunde space first.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.platforms("zevvy"),
]
SECRET = "zevvy-forwarding-secret"
State = Forwarding.State
START = datetime(2025, 10, 1, tzinfo=UTC)
CODES = ("1-0:1.8.0*255", "1-0:2.8.0*255", "1-0:1.7.0*255")


@pytest.fixture
def zevvy(portal, live_server) -> ZevvySandbox:
    portal.SMARTME_WEBHOOK_SECRET = SECRET
    sandbox = ZevvySandbox(live_server.url)
    sandbox.device_flow(interval=1)
    login = connect.start(started_by="test")
    decide_on_page(login.verification_uri_complete, "approve")
    wait_until(lambda: connect.poll().outcome == "connected", interval=0.3, message="connected")
    return sandbox


@pytest.fixture
def deliver(zevvy, live_server):
    url = f"{live_server.url}/webhooks/smartme/{SECRET}/"

    def post(remote_id: str, first: int, count: int) -> None:
        for minute in range(first, first + count):
            when = START + timedelta(minutes=minute)
            values = tuple((code, minute * 10.0 - i) for i, code in enumerate(CODES))
            body = realtime.encode([DeviceData(remote_id, when, values)])
            assert requests.post(url, data=body, timeout=10).status_code == 200

    return post


def linked_meter(name: str, external_id: str) -> tuple[Device, str]:
    meter = device(unit(building(f"Haus {name}"), "Flat 1"), name, external_id=external_id)
    remote = str(uuid.uuid4())
    now = datetime.now(UTC)
    entry = CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=remote, first_seen=now, last_seen=now
    )
    links.link_device(meter, entry)
    return Device.objects.get(pk=meter.pk), remote


def remote_measurements() -> set[tuple[str, str, datetime, float]]:
    """What the zevvy sandbox holds: (device reference or name, register, time, value)."""
    return {
        (m.register.device.reference or m.register.device.name, m.register.name, m.read_at,
         m.value)
        for m in zv.Measurement.objects.select_related("register__device")
    }  # fmt: skip


def expected(key: str, minutes: range) -> set[tuple]:
    return {
        (key, code, START + timedelta(minutes=m), m * 10.0 - i)
        for m in minutes
        for i, code in enumerate(CODES)
    }


def caught_up(meter: Device):
    def check():
        row = Forwarding.objects.get(device=meter, destination="zevvy")
        last = Reading.objects.filter(device=meter).order_by("-id").values_list("id", flat=True)
        return row.state == State.IDLE and row.cursor == (last.first() or 0)

    return check


def test_by_reference_to_the_device_the_outbox_created(zevvy, deliver, start_worker):
    start_worker(READINGS_FORWARD_BATCH=4)
    meter, remote = linked_meter("Zähler R", "CH-R-1")
    wait_until(
        lambda: meter.sync_records.filter(provider="zevvy", state="synced").exists(),
        message="device on zevvy",
    )
    Forwarding.objects.create(device=meter, destination="zevvy")

    deliver(remote, 0, 4)  # 12 readings, three registers
    wait_until(caught_up(meter), message="forwarded")

    reference = f"portal-device-{meter.pk}"
    assert remote_measurements() == expected(reference, range(4))
    state = zevvy.state()
    assert state["counts"] == {**state["counts"], "devices": 1, "registers": 3,
                               "measurements": 12}  # fmt: skip
    registers = {r["name"]: r["reference"] for r in state["devices"][0]["registers"]}
    assert registers == {code: code for code in CODES}
    assert Forwarding.objects.get(device=meter).forwarded_count == 12


def test_by_name_creates_device_and_registers_there(zevvy, deliver, start_worker):
    start_worker()
    meter, remote = linked_meter("Zähler N", "CH-N-1")
    Forwarding.objects.create(device=meter, destination="zevvy", addressing="name")

    deliver(remote, 0, 3)
    wait_until(caught_up(meter), message="forwarded")

    # The outbox's own device (by reference) and the one zevvy made by name.
    names = {d["name"] for d in zevvy.state()["devices"]}
    assert "CH-N-1" in names
    assert {m for m in remote_measurements() if m[0] == "CH-N-1"} == expected("CH-N-1", range(3))
    assert zevvy.requests_to("POST /measurements/_bulk_create") == 1


def test_a_lost_answer_is_resent_and_zevvy_keeps_each_measurement_once(
    zevvy, deliver, start_worker
):
    start_worker(READINGS_FORWARD_BATCH=6)
    meter, remote = linked_meter("Zähler T", "CH-T-1")
    wait_until(
        lambda: meter.sync_records.filter(provider="zevvy", state="synced").exists(),
        message="device on zevvy",
    )
    Forwarding.objects.create(device=meter, destination="zevvy")
    deliver(remote, 0, 2)
    wait_until(caught_up(meter), message="first batch forwarded")

    # The next register call is stored but answered too late; then a 503 on another.
    path = "/measurements/_bulk_create"
    zevvy.fault("timeout", count=1, delay=3, path=path)
    zevvy.fault("error", count=1, status=503, path=path)
    deliver(remote, 2, 4)

    wait_until(caught_up(meter), timeout=60, message="forwarded after the failures")
    assert remote_measurements() == expected(f"portal-device-{meter.pk}", range(6))
    assert zevvy.count("measurements") == 18
    calls = ApiCall.objects.filter(path__endswith=path)
    assert calls.filter(error__icontains="timeout").count() == 1
    assert calls.filter(status=503).count() == 1
    # Every measurement went in an accepted call; what went twice is at most the one
    # batch whose answer was lost (zevvy answered 409 or skipped what it had).
    accepted = sum(c.request_body.count('"readAt"') for c in calls.filter(status__in=[201, 409]))
    assert 18 <= accepted <= 18 + 6
    row = Forwarding.objects.get(device=meter)
    assert (row.forwarded_count, row.last_error) == (18, "")
