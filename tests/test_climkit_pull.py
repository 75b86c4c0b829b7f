"""The Climkit pull against the Climkit sandbox over real HTTP: incremental pulls store
each 15-minute interval once, a failing call resumes with no gap and no duplicate, and
backfill_climkit fetches a range. Every call goes through a (quick) shared budget."""

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from onboarding.catalogue import links
from onboarding.catalogue.refresh import RefreshFailed, refresh
from onboarding.models import CatalogueEntry
from onboarding.readings.models import Reading, UnmatchedReading
from onboarding.sync.tokens import DatabaseTokenStore
from providers.climkit.client import ClimkitClient
from providers.climkit.pull import gaps
from providers.climkit.pull.models import PullCursor
from providers.climkit.pull.pull import linked_meters, pull_all
from providers.ratelimit import BudgetSpec, shared_budget
from tests.climkit_support import ClimkitControl
from tests.conftest import wait_until

from .factories import building, device, unit

pytestmark = pytest.mark.django_db(transaction=True)
FAST = BudgetSpec("climkit-pull-tests", per_seconds=0.05, margin_ms=20)
IMPORT, EXPORT = "1-0:1.8.0*255", "1-0:2.8.0*255"
STEP = timedelta(minutes=15)


@pytest.fixture
def climkit(portal, live_server) -> ClimkitControl:
    control = ClimkitControl(live_server.url)
    control.rate_limit(FAST.per_seconds)
    portal.CLIMKIT_PULL_INITIAL_DAYS = 1
    portal.CLIMKIT_PULL_CHUNK_DAYS = 1
    return control


@pytest.fixture
def client(climkit) -> ClimkitClient:
    return ClimkitClient(
        climkit.api, "portal-sandbox", "sandbox-secret",
        token_store=DatabaseTokenStore("climkit"), acquire=shared_budget(FAST).acquire,
    )  # fmt: skip


@pytest.fixture
def flat_meter(client):
    """Our device linked to the sandbox's electricity meter "Wohnung A"."""
    # The sandbox may still count a previous test's last call under its real 1 s budget
    # (a loaded machine stretches the gap): a refusal then says "try again in 1 s".
    wait_until(lambda: _refreshed(client), timeout=10, message="the catalogue refreshed")
    entry = CatalogueEntry.objects.get(platform="climkit", kind="meter", name="Wohnung A")
    ours = device(unit(building(), "Wohnung A"), "Wohnung A")
    links.link_device(ours, entry)
    ours.refresh_from_db()
    return ours


def _refreshed(client) -> bool:
    try:
        refresh("climkit", client=client)
    except RefreshFailed:
        time.sleep(1.0)
        return False
    return True


def stamps(dev, obis=IMPORT) -> list[datetime]:
    return list(
        Reading.objects.filter(device=dev, obis=obis)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
    )


def assert_contiguous_once(dev) -> None:
    for obis in (IMPORT, EXPORT):
        times = stamps(dev, obis)
        assert len(times) == len(set(times))
        assert all(b - a == STEP for a, b in zip(times, times[1:], strict=False)), obis
    assert gaps.missing_intervals(dev, days=30) == []


def raw_calls(climkit) -> int:
    return climkit.requests_to("POST /meter_data_raw/{site_id}/{meter_id}")


def test_incremental_pull_stores_each_interval_once(client, climkit, flat_meter):
    assert [m.meter_id for m in linked_meters()] == [flat_meter.climkit_meter.remote_id]
    first = pull_all(client)
    assert first.errors == [] and first.calls == 1 and first.intervals >= 90
    times = stamps(flat_meter)
    assert len(times) == first.intervals
    assert_contiguous_once(flat_meter)
    assert all(t.minute % 15 == 0 and t.second == 0 for t in times)
    assert Reading.objects.filter(source="climkit").count() == 2 * first.intervals
    assert not UnmatchedReading.objects.exists()
    cursor = PullCursor.objects.get(meter_id=flat_meter.climkit_meter.remote_id)
    assert cursor.last_timestamp == times[-1] and cursor.series == "raw"

    # The next pull asks from the cursor: nothing is fetched twice.
    second = pull_all(client)
    assert second.calls == 1 and second.intervals <= 1  # at most a new quarter hour
    assert len(stamps(flat_meter)) == first.intervals + second.intervals
    assert_contiguous_once(flat_meter)

    # Even a cursor set back (a restore, a hand edit) stores nothing twice.
    PullCursor.objects.update(last_timestamp=cursor.last_timestamp - timedelta(hours=5))
    pull_all(client)
    assert_contiguous_once(flat_meter)
    assert raw_calls(climkit) == 3


@pytest.mark.parametrize("mode", ["error", "timeout"])
def test_a_failing_call_resumes_with_no_gap_and_no_duplicate(client, climkit, flat_meter, mode):
    climkit_options = {"status": 500} if mode == "error" else {"delay": 3}
    PullCursor.objects.create(
        site_id=linked_meters()[0].site_id,
        meter_id=flat_meter.climkit_meter.remote_id,
        series="raw",
        last_timestamp=(timezone.now() - timedelta(days=3)).replace(
            minute=0, second=0, microsecond=0
        ),
    )
    client.http.timeout = (5.0, 2.0)
    calls = []

    def fail_the_next_call(reached):
        calls.append(reached)
        if len(calls) == 1:  # after the first day is stored, the second day's call fails
            climkit.fault(mode, count=1, path="/meter_data_raw", **climkit_options)

    failed = pull_all(client, progress=fail_the_next_call)
    assert len(failed.errors) == 1 and len(calls) == 1
    cursor = PullCursor.objects.get()
    assert cursor.last_error and cursor.last_timestamp == stamps(flat_meter)[-1]
    stored_first = len(stamps(flat_meter))
    assert 90 <= stored_first <= 97  # the first day only

    resumed = pull_all(client)
    assert resumed.errors == [] and resumed.calls == 3  # two days and the last minutes
    assert_contiguous_once(flat_meter)
    times = stamps(flat_meter)
    start = PullCursor.objects.get().last_timestamp - timedelta(days=3)
    assert times[0] - start <= STEP * 2 and len(times) >= 3 * 96 - 2
    assert not PullCursor.objects.get().last_error


def test_backfill_fetches_a_range_with_progress(client, climkit, flat_meter, portal):
    portal.CLIMKIT_RATE_MARGIN_MS = 20
    time.sleep(FAST.per_seconds * 3)  # switching budgets, as in the beat test
    today = timezone.now().date()
    start, end = today - timedelta(days=5), today - timedelta(days=3)
    err = StringIO()
    out = StringIO()
    call_command(
        "backfill_climkit", "--from", start.isoformat(), "--to", end.isoformat(),
        "--meter", flat_meter.climkit_meter.remote_id, stdout=out, stderr=err,
    )  # fmt: skip
    assert "100%" in err.getvalue() and "192 intervals fetched" in out.getvalue()
    times = stamps(flat_meter)
    day = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    assert times[0] == day + STEP and times[-1] == day + timedelta(days=2)
    assert len(times) == 192
    assert_contiguous_once(flat_meter)
    # Again: nothing new, nothing twice.
    call_command(
        "backfill_climkit", "--from", start.isoformat(), "--to", end.isoformat(),
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    assert len(stamps(flat_meter)) == 192
    cursor = PullCursor.objects.get()
    assert cursor.last_timestamp == times[-1]  # contiguous: the pull goes on from here
    # An earlier day, with a day's hole before the first range: the gap shows, and the
    # cursor does not go back.
    call_command(
        "backfill_climkit", "--from", (start - timedelta(days=2)).isoformat(),
        "--to", (start - timedelta(days=1)).isoformat(), stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    found = gaps.missing_intervals(flat_meter, days=30)
    assert len(found) == 1 and found[0].before == times[0] and found[0].missing == 96
    assert "96 missing 15-minute intervals in 1 gaps" in gaps.describe(found)
    assert PullCursor.objects.get().last_timestamp == times[-1]


def test_backfill_through_the_night_the_clocks_go_back_stores_each_quarter_hour(
    client, climkit, flat_meter, portal
):
    """2025-10-26, a UTC day of 96 quarter hours, holds 02:00-03:00 in Zurich twice: raw
    and validated series store all 96, once each (the platform stamps them in local
    time with their offset, two of each wall time)."""
    portal.CLIMKIT_RATE_MARGIN_MS = 20
    portal.CLIMKIT_PULL_VALIDATED = True
    time.sleep(FAST.per_seconds * 3)  # switching budgets, as in the beat test
    call_command(
        "backfill_climkit", "--from", "2025-10-26", "--to", "2025-10-27",
        "--meter", flat_meter.climkit_meter.remote_id, stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    codes = set(Reading.objects.filter(device=flat_meter).values_list("obis", flat=True))
    assert {IMPORT, EXPORT, "1-0:1.29.0*255"} <= codes
    day = datetime(2025, 10, 26, tzinfo=UTC)
    for code in codes:
        times = stamps(flat_meter, code)
        assert times == [day + STEP * (i + 1) for i in range(96)], code


def test_backfill_says_what_is_wrong(climkit):
    with pytest.raises(CommandError, match="not a date"):
        call_command("backfill_climkit", "--from", "yesterday", "--to", "2026-01-01")
    with pytest.raises(CommandError, match="no device is linked"):
        call_command("backfill_climkit", "--from", "2026-01-01", "--to", "2026-01-02")


def test_the_device_page_shows_the_pull_and_its_gaps(client, climkit, flat_meter, admin_client):
    from django.urls import reverse

    pull_all(client)
    # A hole of two hours in the middle of the pulled day.
    times = stamps(flat_meter)
    Reading.objects.filter(device=flat_meter, timestamp__in=times[10:18]).delete()
    page = admin_client.get(reverse("admin:onboarding_device_change", args=[flat_meter.pk]))
    text = page.content.decode()
    assert "Climkit pull" in text and "Raw meter indices" in text
    assert "8 missing 15-minute intervals in 1 gaps." in text
    # In UTC, as backfill_climkit takes its days.
    after, before = (f"{t:%Y-%m-%d %H:%M} UTC" for t in (times[9], times[18]))
    assert f"8 missing after {after} (next reading {before})" in text
    assert f"up to {PullCursor.objects.get().last_timestamp:%Y-%m-%d %H:%M} UTC" in text
    assert f"--meter {flat_meter.climkit_meter.remote_id}" in text


def test_beat_task_pulls_every_linked_meter_and_a_refusal_stops_only_its_own(
    client, climkit, flat_meter, portal
):
    from providers.climkit.pull.tasks import pull_climkit

    portal.CLIMKIT_PULL_INITIAL_DAYS = 0.25
    rule = CatalogueEntry.objects.get(platform="climkit", name__contains="Regelzähler")
    virtual = device(flat_meter.space, "ZEV", external_id="zev-1")
    links.link_device(virtual, rule)
    other = CatalogueEntry.objects.get(platform="climkit", kind="meter", name="Wohnung B")
    refused_device = device(flat_meter.space, "Wohnung B", external_id="b-1")
    links.link_device(refused_device, other)
    climkit.fault("error", count=1, status=404, path=other.remote_id)
    # The registry's client draws from the deployment's own budget, not the test's: let
    # the test budget's last call age past the sandbox's interval before switching.
    time.sleep(FAST.per_seconds * 3)
    summary = pull_climkit()
    assert "1 errors" in summary
    refused = PullCursor.objects.get(meter_id=other.remote_id)
    assert refused.last_error and refused.last_timestamp is None
    assert 20 <= len(stamps(flat_meter)) <= 25  # six hours of the other meter
    assert_contiguous_once(flat_meter)
    # The rule meter has no raw data (the guide): never asked for it, so no error either.
    assert not PullCursor.objects.filter(meter_id=rule.remote_id).exists()
    assert not Reading.objects.filter(device=virtual).exists()


# --- rule meters, and the ZEV split of validated data ---------------------------------

TOTAL, SELF, GRID = "1-0:1.29.0*255", "1-65:1.29.0*255", "1-66:1.29.0*255"


def linked(client, name: str):
    refresh("climkit", client=client)
    entry = CatalogueEntry.objects.get(platform="climkit", kind="meter", name=name)
    ours = device(unit(building(f"Haus {name}"), name), name)
    links.link_device(ours, entry)
    ours.refresh_from_db()
    return ours


def test_a_rule_meter_is_never_asked_for_raw_data(client, climkit, portal):
    """The guide: raw data "nur für physische Zähler verfügbar, nicht für Regelzähler"
    (the sandbox refuses it, 400). Only its validated series is pulled."""
    rule = linked(client, "ZEV Eigenverbrauch (Regelzähler)")
    flat = linked(client, "Wohnung 1.1")

    result = pull_all(client)
    assert result.errors == []
    assert raw_calls(climkit) == 1  # the flat's, not the rule meter's
    assert not Reading.objects.filter(device=rule).exists()
    assert Reading.objects.filter(device=flat, obis=IMPORT).exists()

    portal.CLIMKIT_PULL_VALIDATED = True
    result = pull_all(client)
    assert result.errors == []
    assert raw_calls(climkit) == 2  # the flat's again, still never the rule meter's
    assert Reading.objects.filter(device=rule, obis=TOTAL).exists()


def test_validated_data_keeps_the_zev_split_per_meter_in_kwh(client, climkit, portal, staff_client):
    """meter_data's `self` and `ext` (total = self + ext, the guide) are kept beside the
    total, each 15-minute amount under its code, and shown on the device's pages."""
    portal.CLIMKIT_PULL_VALIDATED = True
    flat = linked(client, "Wohnung 1.1")

    assert pull_all(client).errors == []

    def series(code):
        rows = Reading.objects.filter(device=flat, obis=code).values_list(
            "timestamp", "value", "unit"
        )
        return {t: (v, u) for t, v, u in rows}

    total, own, grid = series(TOTAL), series(SELF), series(GRID)
    assert len(total) >= 90 and set(total) == set(own) == set(grid)
    assert {u for _, u in [*total.values(), *own.values(), *grid.values()]} == {"kWh"}
    for when, (amount, _) in total.items():
        assert own[when][0] + grid[when][0] == pytest.approx(amount, abs=1e-3)
    assert any(v > 0 for v, _ in own.values()) or any(v > 0 for v, _ in grid.values())

    admin_page = staff_client.get(f"/admin/onboarding/device/{flat.pk}/change/").content.decode()
    staff_page = staff_client.get(f"/devices/{flat.pk}/").content.decode()
    for page in (admin_page, staff_page):
        assert SELF in page and "from the community&#x27;s PV (ZEV self-consumption)" in page
        assert GRID in page and "from the grid (ZEV)" in page
        assert "kWh" in page


@pytest.fixture
def staff_client(client_, django_user_model):
    user = django_user_model.objects.create_user(
        "staff", password="pw", is_staff=True, is_superuser=True
    )
    client_.force_login(user)
    return client_


@pytest.fixture
def client_(db):
    from django.test import Client

    return Client()
