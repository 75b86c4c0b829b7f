"""The drift page and the dashboard's needs-attention list with Django's test client:
what each platform holds otherwise, with its one-click fix, recorded with who did it;
and beat's comparison, read only, by a real worker."""

import re

import pytest
from django.core.management import call_command

from onboarding.models import Comparison, Drift, Space, SyncRecord
from onboarding.sync import reconcile
from onboarding.sync.reconcile.tasks import compare_platforms

from . import pages_helpers
from .conftest import wait_until
from .factories import building_with_units
from .pages_helpers import HX
from .reconcile_helpers import sync, zaehlerfreunde_by_hand

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State
staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
viewer_user, viewer = pages_helpers.viewer_user, pages_helpers.viewer


def remote_id(obj) -> str:
    return obj.sync_records.get(provider="zaehlerfreunde").remote_id


@pytest.fixture
def drifted(sandbox, portal, live_server):
    """Two flats synced; then, behind the portal's back, Flat 2 deleted, Flat 1 renamed
    and a stranger's house made on the partner account."""
    building_with_units(2)
    sync(portal)
    flat1, flat2 = Space.objects.filter(parent__isnull=False).order_by("name")
    platform = zaehlerfreunde_by_hand(live_server)
    platform.delete_space(remote_id(flat2))
    platform.update_space(remote_id(flat1), {"name": "Flat 1 (by hand)"})
    stranger = platform.create_space(
        {
            "name": "Somebody else's house",
            "addressLineOne": "Weg 1",
            "postcode": "3000",
            "city": "Bern",
            "category": "SINGLE_FAMILY_HOME",
        }
    )
    return {"flat1": flat1, "flat2": flat2, "stranger": stranger, "sandbox": sandbox}


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_drift_page_shows_each_kind_with_its_fix(drifted, staff):
    (report,) = reconcile.run(["zaehlerfreunde"], started_by="test")
    page = text(staff.get("/drift/"))
    assert "Zählerfreunde" in page and "Last compared" in page
    assert "2 missing there, 1 extra there, 1 different" in page  # the flat and its meter
    assert "Not compared: invites: Zählerfreunde cannot list invites" in page
    assert str(drifted["flat2"]) in page and ">Re-create<" in page
    assert "Somebody else&#x27;s house" in page and ">Leave it (not ours)<" in page
    assert "name: ours “Flat 1”, theirs “Flat 1 (by hand)”" in page and ">Send ours<" in page
    # The fragment (htmx polls it) is the section alone.
    fragment = text(staff.get("/drift/", HTTP_HX_TARGET="drift", **HX))
    assert "<html" not in fragment and "Somebody else" in fragment


def test_fixes_are_recorded_with_who_and_confirmed_by_the_next_comparison(drifted, staff, portal):
    reconcile.run(["zaehlerfreunde"])
    missing = Drift.objects.get(kind="missing", object_id=drifted["flat2"].pk)
    different = Drift.objects.get(kind="different")
    extra = Drift.objects.get(kind="extra")
    for drift, action in ((missing, "recreate"), (different, "push"), (extra, "leave")):
        response = staff.post("/drift/fix/", {"drift": drift.pk, "action": action})
        assert response.status_code == 302
    assert {d.fix: d.fixed_by for d in Drift.objects.exclude(fix="")} == {
        "recreate": "olivia",
        "push": "olivia",
        "leave": "olivia",
    }
    sync(portal)
    call_command("reconcile", "zaehlerfreunde")  # exit 0: the stranger's house was left alone
    state = drifted["sandbox"].state()
    assert sorted(s["name"] for s in state["spaces"]) == [
        "Flat 1",
        "Flat 2",
        "Lindenhof",
        "Somebody else's house",  # never deleted: not ours
    ]
    page = text(staff.get("/drift/"))
    assert "Settled by a person" in page and "Left alone (not ours) by olivia" in page
    assert "3 recent fixes" in page and "Re-created" in page
    assert Drift.objects.get(pk=missing.pk).resolved_at is not None


def test_a_viewer_sees_the_page_without_fixes_and_cannot_fix(drifted, viewer):
    reconcile.run(["zaehlerfreunde"])
    page = text(viewer.get("/drift/"))
    assert "Somebody else" in page and ">Re-create<" not in page
    drift = Drift.objects.get(kind="missing", object_id=drifted["flat2"].pk)
    assert viewer.post("/drift/fix/", {"drift": drift.pk, "action": "recreate"}).status_code == 403
    assert Drift.objects.get(pk=drift.pk).fix == ""


def test_the_dashboard_lists_missing_and_different_with_their_fixes(drifted, staff, portal):
    reconcile.run(["zaehlerfreunde"])
    page = text(staff.get("/"))
    assert "missing on Zählerfreunde" in page and ">Re-create<" in page
    assert "differs on Zählerfreunde" in page and "theirs “Flat 1 (by hand)”" in page
    assert "1 object on a platform that we do not know" in page
    # The flat's own page: its badge, and Re-create in place of Retry.
    flat2 = drifted["flat2"]
    own = text(staff.get(f"/spaces/{flat2.pk}/"))
    assert "missing on Zählerfreunde" in own and "Re-create on Zählerfreunde" in own
    row = flat2.sync_records.get()
    staff.post("/sync/retry/", {"row": row.pk})  # the dashboard's Re-create is a Retry
    assert Drift.objects.get(kind="missing", object_id=flat2.pk).fixed_by == "olivia"
    sync(portal)
    assert drifted["sandbox"].count("devices") == 2  # the flat came back with its meter


@pytest.mark.worker
def test_beat_compares_read_only_and_a_missing_row_needs_attention_at_once(drifted, worker):
    before = drifted["sandbox"].state()["requests"]
    compare_platforms.delay()
    compared = Comparison.objects.filter(provider="zaehlerfreunde")
    wait_until(compared.exists, timeout=30, message="compared by the worker")
    row = drifted["flat2"].sync_records.get()
    assert row.state == State.NEEDS_ATTENTION and row.remote_state == "missing"
    assert row.last_error.startswith("Missing on Zählerfreunde")
    assert drifted["flat1"].sync_records.get().remote_state == "differs"
    after = drifted["sandbox"].state()["requests"]
    writes = {k: v for k, v in after.items() if not k.startswith("GET") and before.get(k) != v}
    assert writes == {}  # read only: only listings went out (and a token)
    assert after["GET /spaces"] > before.get("GET /spaces", 0)


def test_the_comparison_beat_runs_is_a_setting(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["compare-platforms"]
    assert entry["task"] == compare_platforms.name
    assert entry["schedule"].total_seconds() == settings.RECONCILE_MINUTES * 60


def test_a_platform_full_of_strangers_lists_the_latest_and_counts_the_rest(
    drifted, staff, live_server, monkeypatch
):
    from onboarding.views import drift as drift_page

    platform = zaehlerfreunde_by_hand(live_server)
    for n in range(2):
        address = {"addressLineOne": "Weg 1", "postcode": "3000", "city": "Bern"}
        platform.create_space({"name": f"Stranger {n}", "category": "OFFICE", **address})
    reconcile.run(["zaehlerfreunde"])
    monkeypatch.setattr(drift_page, "SHOWN_A_KIND", 2)
    page = text(staff.get("/drift/"))
    assert 'Extra there <span class="muted">(3)</span>' in page
    assert "… and 1 more (the most recently seen are listed)." in page
