"""Forwarding readings to zevvy with real Celery worker processes and the zevvy sandbox
over real HTTP: both `_bulk_create` forms, and a lost answer resent without doubling."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from onboarding import connect, services
from onboarding.catalogue import links
from onboarding.models import ApiCall, CatalogueEntry, Device
from onboarding.readings.models import Forwarding, Reading
from providers import registry
from providers.smartme import realtime
from providers.smartme.realtime import DeviceData
from providers.zevvy.sandbox import models as zv

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
            # smart-me's milli-units (mWh, mW): stored and sent as minute*10-i kWh / kW.
            values = tuple((code, (minute * 10.0 - i) * 1e6) for i, code in enumerate(CODES))
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


def test_by_name_reaches_the_outbox_device_under_its_name_after_a_rename(
    zevvy, deliver, start_worker
):
    """The guide's form finds a device by name and creates one when none has it: the
    readings go under the name zevvy holds, and after a rename only once the outbox
    has renamed the device there, so zevvy never makes a second device."""
    start_worker(SYNC_DEPENDENCY_WAIT_SECONDS=0.5)
    meter, remote = linked_meter("Zähler N", "CH-N-1")
    Forwarding.objects.create(device=meter, destination="zevvy", addressing="name")

    deliver(remote, 0, 2)
    wait_until(caught_up(meter), message="forwarded")
    zevvy.fault("maintenance", count=2, path="/api/devices/")  # the rename waits a while
    meter.name, meter.external_device_id = "Zähler N (neu)", "CH-N-2"
    services.save(meter)
    deliver(remote, 2, 1)
    wait_until(caught_up(meter), timeout=30, message="forwarded after the rename")

    devices = zevvy.state()["devices"]
    reference = f"portal-device-{meter.pk}"
    assert [(d["name"], d["reference"]) for d in devices] == [("Zähler N (neu)", reference)]
    assert remote_measurements() == expected(reference, range(3))
    assert zevvy.requests_to("POST /measurements/_bulk_create") == 2


def test_by_name_waits_while_another_device_has_the_same_name(zevvy, deliver, start_worker):
    start_worker(SYNC_DEPENDENCY_WAIT_SECONDS=0.5)
    meter, remote = linked_meter("Stromzähler", "CH-S-1")
    twin = device(unit(building("Haus B"), "Flat 1"), "Stromzähler", external_id="CH-S-2")
    forwarding = Forwarding.objects.create(device=meter, destination="zevvy", addressing="name")
    wait_until(
        lambda: twin.sync_records.filter(provider="zevvy", state="synced").exists(),
        message="both on zevvy",
    )
    deliver(remote, 0, 1)
    wait_until(
        lambda: (
            "other device(s) are called 'Stromzähler'"
            in Forwarding.objects.get(pk=forwarding.pk).last_error
        ),
        message="the forwarding says why it waits",
    )
    assert zevvy.requests_to("POST /measurements/_bulk_create") == 0
    twin.name = "Stromzähler Haus B"
    services.save(twin)
    forwarding.refresh_from_db()
    wait_until(caught_up(meter), timeout=30, message="forwarded once the names differ")
    assert zevvy.count("devices") == 2


def test_a_409_for_a_batch_holding_old_and_new_readings_loses_none(zevvy, deliver, start_worker):
    """NOTES.md: 409 for "readings it already has". The sandbox refuses a whole batch
    that holds one (storing none of it); the forwarding halves it until every new
    reading is stored: none is taken for stored because its batch was refused."""
    start_worker(READINGS_FORWARD_BATCH=500)
    meter, remote = linked_meter("Zähler K", "CH-K-1")
    wait_until(
        lambda: meter.sync_records.filter(provider="zevvy", state="synced").exists(),
        message="device on zevvy",
    )
    reference = f"portal-device-{meter.pk}"
    # zevvy already has minutes 0 and 1 of the import register (another sender, an
    # earlier batch whose answer was lost): what those readings would be, as kWh.
    client = registry.client("zevvy")
    client.bulk_create_measurements_by_ref(
        reference, CODES[0],
        [{"readAt": START + timedelta(minutes=m), "value": m * 10.0} for m in (0, 1)],
    )  # fmt: skip
    Forwarding.objects.create(device=meter, destination="zevvy")

    deliver(remote, 0, 4)  # 12 readings; the import register's call holds 2 old, 2 new
    wait_until(caught_up(meter), timeout=60, message="forwarded")

    assert remote_measurements() == expected(reference, range(4))
    assert zevvy.count("measurements") == 12
    calls = ApiCall.objects.filter(path__endswith="/measurements/_bulk_create")
    refused = calls.filter(status=409)
    assert refused.exists()  # the mixed batch was refused whole, then halved
    assert Forwarding.objects.get(device=meter).forwarded_count == 12


def test_energy_in_wh_where_zevvy_is_set_to_take_it(zevvy, deliver, start_worker):
    start_worker(ZEVVY_ENERGY_UNIT="Wh")
    meter, remote = linked_meter("Zähler W", "CH-W-1")
    wait_until(
        lambda: meter.sync_records.filter(provider="zevvy", state="synced").exists(),
        message="device on zevvy",
    )
    Forwarding.objects.create(device=meter, destination="zevvy")

    deliver(remote, 1, 1)  # stored as 10 kWh, 9 kWh and 8 kW

    wait_until(caught_up(meter), message="forwarded")
    held = {(m[1], m[3]) for m in remote_measurements()}
    assert held == {(CODES[0], 10_000.0), (CODES[1], 9_000.0), (CODES[2], 8_000.0)}


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
