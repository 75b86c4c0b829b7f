"""Seeing readings in the admin: a device's latest values, its chart, its forwarding per
destination and the readings waiting for a device; the lists; Retry; bounded queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from onboarding.models import CatalogueEntry, Device
from onboarding.readings import chart
from onboarding.readings.models import Forwarding, Reading, UnmatchedReading

from .factories import building, device, unit

pytestmark = pytest.mark.django_db
State = Forwarding.State


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user(
        "staff", password="pw", is_staff=True, is_superuser=True
    )
    client.force_login(user)
    return client


def meter_with_readings(hours: int = 48, name: str = "Meter 1") -> Device:
    meter = device(unit(building(f"Haus {name}"), "Flat 1"), name, external_id=f"X-{name}")
    now = timezone.now().replace(microsecond=0)
    Reading.objects.bulk_create(
        Reading(device=meter, obis=code, timestamp=now - timedelta(hours=h), value=base + h,
                unit=unit_, source="smartme")
        for h in range(hours)
        for code, base, unit_ in (("1-0:1.8.0*255", 1000.0, "kWh"), ("1-0:1.7.0*255", -5.0, "kW"))
    )  # fmt: skip
    return meter


def test_device_page_shows_latest_values_charts_forwarding_and_waiting_readings(staff):
    meter = meter_with_readings()
    Forwarding.objects.create(
        device=meter, destination="zaehlerfreunde", cursor=0, state=State.FAILED,
        last_error="Zählerfreunde refused the readings after id 0: bad OBIS",
    )  # fmt: skip
    UnmatchedReading.objects.create(
        source="smartme", remote_id="aaaa-remote", obis="1-0:1.8.0*255",
        timestamp=timezone.now(), value=3.0,
    )  # fmt: skip

    page = staff.get(reverse("admin:onboarding_device_change", args=[meter.pk]))

    assert page.status_code == 200
    text = page.text
    # Latest per OBIS code: the newest reading (h = 0) of each.
    # Each value with its unit, and each chart's axis in it.
    assert "1-0:1.8.0*255" in text and '<strong class="reading-value">1000 kWh</strong>' in text
    assert "1-0:1.7.0*255" in text and '<strong class="reading-value">-5 kW</strong>' in text
    assert "energy meter reading, kWh" in text and "power instantaneous, kW" in text
    assert text.count("<polyline") == 2  # one chart per OBIS code
    assert ">1,047 kWh</text>" in text and ">-5 kW</text>" in text
    assert "Refused (fix, then retry)" in text
    assert "bad OBIS" in text
    assert ">96<" in text  # readings waiting for Zählerfreunde: all of them
    assert "aaaa-remote" in text  # a remote device waiting for a link
    assert "Send its readings to another platform" in text


def test_device_page_queries_do_not_grow_with_readings(staff):
    small, big = meter_with_readings(5, "Small"), meter_with_readings(200, "Big")
    counts = []
    for meter in (small, big):
        Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
        with CaptureQueriesContext(connection) as queries:
            page = staff.get(reverse("admin:onboarding_device_change", args=[meter.pk]))
            assert page.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_destination_added_from_the_device_page(staff, django_capture_on_commit_callbacks):
    meter = meter_with_readings(2)
    page = staff.get(reverse("admin:onboarding_device_change", args=[meter.pk])).text
    add = reverse("admin:readings_forwarding_add") + f"?device={meter.pk}"
    assert add in page
    assert staff.get(add).context["adminform"].form.initial["device"] == str(meter.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            add, {"device": meter.pk, "destination": "zaehlerfreunde", "enabled": "on",
                  "addressing": "reference"},
        )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Forwarding.objects.get(device=meter)
    # Its stored readings are to go there too: it is pending at once (a worker sends).
    assert created.state == State.PENDING and created.cursor == 0


def test_reading_and_unmatched_lists_and_the_waiting_summary(staff):
    meter_with_readings(3)
    for i in range(3):
        UnmatchedReading.objects.create(
            source="smartme", remote_id="bbbb-remote", obis="1-0:1.8.0*255",
            timestamp=timezone.now() - timedelta(minutes=i), value=float(i),
        )  # fmt: skip
    now = timezone.now()
    CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id="bbbb-remote", name="Bachweg 3 W1 Strom",
        first_seen=now, last_seen=now,
    )  # fmt: skip
    readings = staff.get(reverse("admin:readings_reading_changelist"))
    assert readings.status_code == 200 and "1-0:1.8.0*255" in readings.text
    waiting = staff.get(reverse("admin:readings_unmatchedreading_changelist"))
    assert waiting.status_code == 200
    assert "Remote devices waiting for a link" in waiting.text
    assert "bbbb-remote" in waiting.text and ">3<" in waiting.text
    assert "Bachweg 3 W1 Strom" in waiting.text  # its catalogue entry, to link it


def test_retry_action_makes_failed_forwardings_due(staff):
    meter = meter_with_readings(1)
    failed = Forwarding.objects.create(
        device=meter, destination="zaehlerfreunde", state=State.FAILED, attempts=1,
        last_error="refused",
    )  # fmt: skip
    response = staff.post(
        reverse("admin:readings_forwarding_changelist"),
        {"action": "retry_forwarding", "_selected_action": [failed.pk]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.last_error) == (State.PENDING, 0, "")


def test_chart_reduces_long_series_and_escapes_its_label():
    now = timezone.now()
    points = [(now + timedelta(seconds=15 * i), float(i % 97)) for i in range(40_000)]
    svg = chart.line_chart(points, label="<b>1-0:1.8.0*255</b>")
    assert svg.startswith("<svg") and svg.count(",") < 2 * chart.MAX_POINTS + 10
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert chart.line_chart([]) == ""


def test_deleting_a_device_takes_its_readings_without_listing_them(staff, settings):
    settings.PROVIDERS = []  # no platform holds it: it goes at once
    meter = meter_with_readings(30)
    Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    url = reverse("admin:onboarding_device_delete", args=[meter.pk])

    with CaptureQueriesContext(connection) as queries:
        page = staff.get(url)
    assert page.status_code == 200
    assert "60 readings, with the device" in page.text
    assert "1-0:1.8.0*255 =" not in page.text  # not one by one
    assert not any('FROM "readings_reading"' in q["sql"] and "LIMIT" not in q["sql"]
                   for q in queries.captured_queries)  # fmt: skip

    response = staff.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Device.objects.filter(pk=meter.pk).exists()
    assert Reading.objects.count() == 0 and Forwarding.objects.count() == 0
