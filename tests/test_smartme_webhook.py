"""smart-me's real-time webhook through the real endpoint over HTTP (live server): the
guide's worked example, several devices, other scales and kinds, negative values,
repeated deliveries, bad bodies, the secret, and readings waiting for their device."""

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from onboarding.catalogue import links
from onboarding.models import CatalogueEntry
from onboarding.readings import tasks
from onboarding.readings.models import Reading, UnmatchedReading
from providers.smartme import realtime
from providers.smartme.realtime import DeviceData
from providers.smartme.realtime_pb2 import DateTime, DeviceDataArray

from .factories import building, device, unit

pytestmark = pytest.mark.django_db(transaction=True)

# The guide's "Parsing-Beispiel", byte for byte.
GUIDE_EXAMPLE = bytes.fromhex(
    "0A5A0A1209E9FCD03B8E9F834111B3D10C1622A22CA1120B08C0C9EAD3A98FE93710051A110A060100"
    "010800FF11333333331FAE3C411A110A060100020800FF1100000000000000001A110A060100010700FF"
    "11713D0AD7A3303840"
)
GUIDE_DEVICE = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1"
GUIDE_TIME = datetime(2019, 10, 16, 12, 20, 44, 978851, tzinfo=UTC)
GUIDE_VALUES = {"1-0:1.8.0*255": 1879583.2, "1-0:2.8.0*255": 0.0, "1-0:1.7.0*255": 24.19}
# As stored: the guide's "1879583.2 mWh = 1879.5832 Wh" is 1.8795832 kWh; power is mW.
GUIDE_STORED = {
    "1-0:1.8.0*255": (1.8795832, "kWh"),
    "1-0:2.8.0*255": (0.0, "kWh"),
    "1-0:1.7.0*255": (0.00002419, "kW"),
}
SECRET = "s3cret-webhook-path"


@pytest.fixture
def webhook(settings, live_server):
    settings.SMARTME_WEBHOOK_SECRET = SECRET
    url = f"{live_server.url}/webhooks/smartme/{SECRET}/"

    def post(body: bytes, url: str = url) -> requests.Response:
        return requests.post(
            url, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=10
        )

    return post


def in_catalogue(remote_id: str, name: str = "Meter 1") -> CatalogueEntry:
    """A smart-me device the catalogue knows (only those's readings may wait unmatched)."""
    now = timezone.now()
    entry, _ = CatalogueEntry.objects.get_or_create(
        platform="smartme", kind="device", remote_id=remote_id,
        defaults={"name": name, "first_seen": now, "last_seen": now},
    )  # fmt: skip
    return entry


def linked_device(remote_id: str, name: str = "Meter 1"):
    """A Device tied to a smart-me catalogue entry, the way staff link them."""
    entry = in_catalogue(remote_id, name)
    home = building(f"Haus {name}")
    meter = device(unit(home, "Flat 1"), name, external_id=f"EXT-{name}")
    links.link_device(meter, entry)
    return meter


def readings_of(meter) -> dict[tuple[str, datetime], float]:
    return {(r.obis, r.timestamp): r.value for r in Reading.objects.filter(device=meter)}


def k(milli: float) -> float:
    """A webhook value (mWh, mW) as stored (kWh, kW)."""
    return milli / 1_000_000


def nothing_stored() -> bool:
    return Reading.objects.count() == 0 and UnmatchedReading.objects.count() == 0


# --- the guide's example ---------------------------------------------------------------


def test_the_guides_example_decodes_as_the_guide_says():
    (item,) = realtime.decode(GUIDE_EXAMPLE, now=datetime.now(UTC))
    assert item.device_id == GUIDE_DEVICE
    assert item.timestamp == GUIDE_TIME
    assert dict(item.values) == GUIDE_VALUES
    assert [code for code, _ in item.values] == list(GUIDE_VALUES)  # in the body's order


def test_the_guides_example_through_the_endpoint_waits_for_its_device(webhook):
    in_catalogue(GUIDE_DEVICE)
    response = webhook(GUIDE_EXAMPLE)

    assert response.status_code == 200, response.text
    assert response.json() == {"devices": 1, "readings": 0, "unmatched": 3, "dropped": 0}
    waiting = UnmatchedReading.objects.order_by("obis")
    assert {(w.remote_id, w.obis, w.timestamp, w.value, w.unit) for w in waiting} == {
        (GUIDE_DEVICE, code, GUIDE_TIME, value, unit)
        for code, (value, unit) in GUIDE_STORED.items()
    }
    assert Reading.objects.count() == 0


def test_the_guides_example_for_a_linked_device(webhook):
    meter = linked_device(GUIDE_DEVICE)

    response = webhook(GUIDE_EXAMPLE)

    assert response.json() == {"devices": 1, "readings": 3, "unmatched": 0, "dropped": 0}
    stored = Reading.objects.filter(device=meter)
    assert {(r.obis, r.timestamp, r.value, r.unit) for r in stored} == {
        (code, GUIDE_TIME, value, unit) for code, (value, unit) in GUIDE_STORED.items()
    }
    assert set(Reading.objects.values_list("source", flat=True)) == {"smartme"}
    assert UnmatchedReading.objects.count() == 0


# --- more than the example -------------------------------------------------------------


def test_several_devices_in_one_array_linked_and_not(webhook):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    first, second = linked_device(ids[0], "Meter A"), linked_device(ids[1], "Meter B")
    in_catalogue(ids[2], "Meter C")
    when = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    body = realtime.encode(
        [
            DeviceData(ids[0], when, (("1-0:1.8.0*255", 100.5), ("1-0:2.8.0*255", 7.25))),
            DeviceData(ids[1], when, (("1-0:1.8.0*255", 200.0),)),
            DeviceData(ids[2], when, (("1-0:1.8.0*255", 300.0), ("1-0:1.7.0*255", 1.5))),
        ]
    )

    response = webhook(body)

    assert response.json() == {"devices": 3, "readings": 3, "unmatched": 2, "dropped": 0}
    assert readings_of(first) == {
        ("1-0:1.8.0*255", when): k(100.5),
        ("1-0:2.8.0*255", when): k(7.25),
    }
    assert readings_of(second) == {("1-0:1.8.0*255", when): k(200.0)}
    assert set(UnmatchedReading.objects.values_list("remote_id", "obis", "value", "unit")) == {
        (ids[2], "1-0:1.8.0*255", k(300.0), "kWh"),
        (ids[2], "1-0:1.7.0*255", k(1.5), "kW"),
    }


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (DateTime.TICKS, datetime(2025, 6, 30, 21, 59, 58, 123456, tzinfo=UTC)),
        (DateTime.MILLISECONDS, datetime(2025, 6, 30, 21, 59, 58, 123000, tzinfo=UTC)),
        (DateTime.SECONDS, datetime(2025, 6, 30, 21, 59, 58, tzinfo=UTC)),
        (DateTime.MINUTES, datetime(2025, 6, 30, 21, 59, tzinfo=UTC)),
        (DateTime.HOURS, datetime(2025, 6, 30, 21, tzinfo=UTC)),
        (DateTime.DAYS, datetime(2025, 6, 30, tzinfo=UTC)),
    ],
)
def test_every_scale(webhook, scale, expected):
    remote = str(uuid.uuid4())
    meter = linked_device(remote)
    measured = datetime(2025, 6, 30, 21, 59, 58, 123456, tzinfo=UTC)
    body = realtime.encode([DeviceData(remote, measured, (("1-0:1.8.0*255", 1.0),))], scale=scale)
    if scale == DateTime.DAYS:  # the proto's default: the field is left out on the wire
        assert not DeviceDataArray.FromString(body).DeviceDataItems[0].DateTime.HasField("scale")

    assert webhook(body).status_code == 200

    assert readings_of(meter) == {("1-0:1.8.0*255", expected): k(1.0)}


def test_kinds_utc_unspecified_and_local_wall_clock(webhook):
    remote = str(uuid.uuid4())
    meter = linked_device(remote)
    summer = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 in Zurich (CEST)
    winter = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)  # 11:00 in Zurich (CET)
    for when, kind, code in (
        (summer, DateTime.LOCAL, "1-0:1.8.0*255"),
        (winter, DateTime.LOCAL, "1-0:2.8.0*255"),
        (summer, DateTime.UTC, "1-0:1.7.0*255"),
        (winter, DateTime.UNSPECIFIED, "1-0:2.7.0*255"),
    ):
        body = realtime.encode([DeviceData(remote, when, ((code, 1.0),))], kind=kind)
        assert webhook(body).status_code == 200, (kind, webhook(body).text)

    assert readings_of(meter) == {
        ("1-0:1.8.0*255", summer): k(1.0),
        ("1-0:2.8.0*255", winter): k(1.0),
        ("1-0:1.7.0*255", summer): k(1.0),
        ("1-0:2.7.0*255", winter): k(1.0),
    }


def test_negative_values_and_zero_are_kept_exactly(webhook):
    remote = str(uuid.uuid4())
    meter = linked_device(remote)
    when = datetime(2025, 2, 2, 2, 2, 2, tzinfo=UTC)
    values = (("1-0:1.7.0*255", -2350.75), ("1-0:2.7.0*255", -0.001), ("1-0:1.8.0*255", 0.0))
    webhook(realtime.encode([DeviceData(remote, when, values)]))

    assert readings_of(meter) == {(code, when): k(value) for code, value in values}


# --- once ------------------------------------------------------------------------------


def test_a_repeated_delivery_changes_nothing(webhook):
    meter = linked_device(GUIDE_DEVICE)
    other = str(uuid.uuid4())
    in_catalogue(other, "Other")
    when = datetime(2025, 5, 5, tzinfo=UTC)
    unmatched = realtime.encode([DeviceData(other, when, (("1-0:1.8.0*255", 5.0),))])
    for _ in range(3):
        assert webhook(GUIDE_EXAMPLE).status_code == 200
        assert webhook(unmatched).status_code == 200
    first = list(Reading.objects.order_by("pk").values_list("pk", "obis", "value", "received_at"))

    # The same readings with other values (a platform resending, or garbling): the
    # stored reading stays as it first arrived.
    changed = realtime.encode(
        [DeviceData(GUIDE_DEVICE, GUIDE_TIME, (("1-0:1.8.0*255", 999.0),))], scale=DateTime.TICKS
    )
    assert webhook(changed).status_code == 200

    assert Reading.objects.filter(device=meter).count() == 3
    assert (
        list(Reading.objects.order_by("pk").values_list("pk", "obis", "value", "received_at"))
        == first
    )
    assert UnmatchedReading.objects.count() == 1


# --- refused ---------------------------------------------------------------------------


def _array(**datetime_fields) -> bytes:
    """One device's DeviceData with a hand-made DateTime."""
    array = DeviceDataArray()
    item = array.DeviceDataItems.add()
    item.DeviceId.lo, item.DeviceId.hi = 1, 2
    for name, value in datetime_fields.items():
        setattr(item.DateTime, name, value)
    value = item.DeviceValues.add()
    value.Obis, value.Value = bytes([1, 0, 1, 8, 0, 255]), 1.0
    return array.SerializeToString()


def _missing_datetime() -> bytes:
    array = DeviceDataArray()
    item = array.DeviceDataItems.add()
    item.DeviceId.lo, item.DeviceId.hi = 1, 2
    return array.SerializePartialToString()


def _nested_unknown() -> bytes:
    """The guide's example with an undefined field (5 = 1) inside its first DeviceValue."""
    array = DeviceDataArray.FromString(GUIDE_EXAMPLE)
    value = array.DeviceDataItems[0].DeviceValues[0].SerializeToString() + bytes.fromhex("2801")
    item = array.DeviceDataItems[0]
    del item.DeviceValues[0]
    inner = item.SerializeToString() + b"\x1a" + bytes([len(value)]) + value
    return b"\x0a" + bytes([len(inner)]) + inner


def _half_guid() -> bytes:
    array = DeviceDataArray.FromString(GUIDE_EXAMPLE)
    array.DeviceDataItems[0].DeviceId.ClearField("hi")
    return array.SerializePartialToString()


def _value(obis: bytes, value: float) -> bytes:
    array = DeviceDataArray.FromString(GUIDE_EXAMPLE)
    array.DeviceDataItems[0].DeviceValues[0].Obis = obis
    array.DeviceDataItems[0].DeviceValues[0].Value = value
    return array.SerializeToString()


def _good_then_bad() -> bytes:
    now = datetime.now(UTC)
    good = realtime.encode([DeviceData(str(uuid.uuid4()), now, (("1-0:1.8.0*255", 1.0),))])
    return good + _array(value=-(10**9), scale=DateTime.SECONDS)  # arrays concatenate


def _ticks(when: datetime) -> int:
    return round((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10_000_000


BAD_BODIES = {
    "not protobuf": (b"hello, this is not protobuf", "not a protobuf DeviceDataArray"),
    "json": (b'{"DeviceId": "3bd0fce9"}', "not a protobuf DeviceDataArray"),
    "truncated": (GUIDE_EXAMPLE[:-5], "truncated or corrupt"),
    "cut in a header": (GUIDE_EXAMPLE[:3], "truncated or corrupt"),
    "empty": (b"", "empty body"),
    "missing required DateTime": (_missing_datetime(), "required fields missing"),
    "missing Guid half": (_half_guid(), "required fields missing: DeviceDataItems[0].DeviceId.hi"),
    "fields it does not define": (GUIDE_EXAMPLE + bytes.fromhex("2801"), "does not define"),
    "unknown field deep inside": (_nested_unknown(), "does not define"),
    "year 1970": (_array(value=0, scale=DateTime.SECONDS), "implausible"),
    "a year before 2000": (
        _array(value=_ticks(datetime(1999, 12, 31, 12, tzinfo=UTC)), scale=DateTime.TICKS),
        "implausible",
    ),  # fmt: skip
    "far future": (_array(value=_ticks(datetime(2200, 1, 1, tzinfo=UTC)), scale=5), "implausible"),
    "two days ahead": (
        _array(value=_ticks(datetime.now(UTC) + timedelta(days=2)), scale=5),
        "implausible",
    ),  # fmt: skip
    "min/max value": (_array(value=1, scale=DateTime.MINMAX), "MinValue/MaxValue"),
    "overflowing days": (_array(value=2**62, scale=DateTime.DAYS), "implausible"),
    "not a finite value": (_value(bytes([1, 0, 1, 8, 0, 255]), math.nan), "finite"),
    "obis of 4 bytes": (_value(bytes([1, 8, 0, 255]), 1.0), "OBIS code must be 6 bytes"),
    "first item good, second bad": (_good_then_bad(), "DeviceDataItems[1]"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_bodies_are_400_with_the_reason_and_store_nothing(webhook, case):
    linked_device(GUIDE_DEVICE)
    body, reason = BAD_BODIES[case]

    response = webhook(body)

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert nothing_stored()


def test_an_oversized_body_is_400_before_it_is_read(webhook, settings):
    settings.SMARTME_WEBHOOK_MAX_BYTES = 1000
    now = datetime.now(UTC)
    items = [DeviceData(str(uuid.uuid4()), now, (("1-0:1.8.0*255", 1.0),)) for _ in range(40)]
    body = realtime.encode(items)
    assert len(body) > 1000

    response = webhook(body)

    assert response.status_code == 400
    assert response.json()["detail"] == "body larger than 1000 bytes"
    assert nothing_stored()
    assert webhook(realtime.encode(items[:10])).status_code == 200  # under the limit: fine


# --- the secret ------------------------------------------------------------------------


def test_a_wrong_or_missing_secret_is_a_plain_404(webhook, live_server, settings):
    for wrong in ("nope", SECRET[:-1], SECRET + "x", SECRET.upper()):
        response = webhook(GUIDE_EXAMPLE, url=f"{live_server.url}/webhooks/smartme/{wrong}/")
        assert response.status_code == 404
        assert SECRET not in response.text
    settings.SMARTME_WEBHOOK_SECRET = ""  # not configured: off for everyone
    response = webhook(GUIDE_EXAMPLE, url=f"{live_server.url}/webhooks/smartme//")
    assert response.status_code == 404
    response = webhook(GUIDE_EXAMPLE, url=f"{live_server.url}/webhooks/smartme/{SECRET}/")
    assert response.status_code == 404
    assert nothing_stored()


def test_only_post(webhook, live_server):
    response = requests.get(f"{live_server.url}/webhooks/smartme/{SECRET}/", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# --- attached once linked --------------------------------------------------------------


def test_waiting_readings_are_attached_when_the_device_is_linked(webhook):
    later = datetime(2025, 4, 4, tzinfo=UTC)
    in_catalogue(GUIDE_DEVICE)
    webhook(GUIDE_EXAMPLE)
    webhook(realtime.encode([DeviceData(GUIDE_DEVICE, later, (("1-0:1.8.0*255", 1879600.0),))]))
    assert UnmatchedReading.objects.count() == 4

    meter = linked_device(GUIDE_DEVICE)
    tasks.attach_device(meter.pk)  # what the link enqueued (a worker runs it in production)

    expected = {(c, GUIDE_TIME): v for c, (v, _) in GUIDE_STORED.items()}
    expected[("1-0:1.8.0*255", later)] = 1.8796
    assert readings_of(meter) == expected
    assert UnmatchedReading.objects.count() == 0
    # Attached once: a delivery repeated after the link and another attach add nothing.
    webhook(GUIDE_EXAMPLE)
    assert tasks.attach_device(meter.pk) == 0
    assert Reading.objects.count() == 4


def test_the_sweep_attaches_what_a_delivery_stored_just_before_the_link():
    # A delivery that looked the link up a moment before it was made stores its readings
    # as unmatched after the link's own attach ran: the sweep attaches them.
    when = timezone.now() - timedelta(minutes=1)
    meter = linked_device(GUIDE_DEVICE)
    UnmatchedReading.objects.create(
        source="smartme", remote_id=GUIDE_DEVICE, obis="1-0:1.8.0*255", timestamp=when, value=1.0
    )

    tasks.sweep()

    assert readings_of(meter) == {("1-0:1.8.0*255", when): 1.0}
    assert UnmatchedReading.objects.count() == 0
