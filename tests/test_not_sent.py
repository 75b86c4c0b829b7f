"""Never "synced" for a change that did not reach the platform: what a handler says its
platform cannot take (Zählerfreunde keeps the Mieterstrom flag from the create; Spark's
guide form cannot change a meter, which carries its unit's address) is told before
saving and shown as "not sent: <why>"; "Unknown" is asked for before the unit is made."""

import re
import uuid

import pytest
from django.core.management import call_command

from onboarding import services
from onboarding.models import Meter, Space, SyncRecord, TenantUser, Wizard
from onboarding.sync import reconcile
from onboarding.sync.reconcile import fixes

from . import pages_helpers
from .factories import building, unit
from .reconcile_helpers import sync
from .test_pages_views import SPACE

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State
staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
LTT_NOT_SENT = (
    "Zählerfreunde holds the Mieterstrom flag as no: it takes it only when the space is "
    "created, so the change did not reach it."
)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_changed_mieterstrom_flag_is_told_before_saving_and_shown_not_sent(
    sandbox, portal, admin_client, staff
):
    flat = unit(building(), "Flat 1", is_participating_in_ltt_project=False)
    sync(portal)
    form = text(admin_client.get(f"/admin/onboarding/space/{flat.pk}/change/"))
    assert "Not sent if changed: Zählerfreunde takes the Mieterstrom flag only when" in form

    flat.is_participating_in_ltt_project = True
    services.save(flat)  # saved here (our answer may be the right one), not refused
    sync(portal)
    row = flat.sync_records.get(provider="zaehlerfreunde")
    assert row.state == State.SYNCED and row.not_sent == LTT_NOT_SENT
    (remote,) = [s for s in sandbox.state()["spaces"] if s["name"] == "Flat 1"]
    assert remote["isParticipatingInLttProject"] is False
    page = text(staff.get(f"/spaces/{flat.pk}/"))
    assert f"not sent: {LTT_NOT_SENT}" in page
    dashboard = text(staff.get("/"))
    assert 'class="badge not_sent"' in dashboard and "not sent: Zählerfreunde holds" in dashboard

    # The comparison sees the same, and --fix leaves it for a person: a push cannot mend it.
    (report,) = reconcile.run(["zaehlerfreunde"])
    (finding,) = report.findings
    assert "Mieterstrom flag: ours True, theirs False (cannot be sent:" in finding.describe()
    assert fixes.fix_findings(report.findings, who="test")[0].startswith(
        "left for a person (cannot be sent)"
    )
    staff.post("/drift/fix/", {"drift": finding.drift.pk, "action": "accept"})
    call_command("reconcile", "zaehlerfreunde")  # exit 0: accepted as is, by a person
    row.refresh_from_db()
    assert row.dismissed_by == "olivia"


def test_the_wizard_asks_for_the_flag_before_zaehlerfreunde_makes_the_unit(sandbox, portal, staff):
    token = uuid.uuid4()
    staff.post("/onboard/", {"token": token})
    wizard = Wizard.objects.get(pk=token)
    step = {k: v for k, v in SPACE.items() if k != "u-is_participating_in_ltt_project"}
    url = f"/onboard/{wizard.pk}/step/1/"
    page = text(staff.get(url))
    assert "Zählerfreunde takes this only when it creates the unit" in page
    assert ">Unknown<" not in page
    for unanswered in ("", "unknown"):
        answer = {"u-is_participating_in_ltt_project": unanswered, "token": uuid.uuid4()}
        response = text(staff.post(url, {**step, **answer}))
        assert "Answer yes or no: Zählerfreunde cannot change it once the unit is made." in response
        assert not Space.objects.exists()
    staff.post(url, {**step, "u-is_participating_in_ltt_project": "true", "token": uuid.uuid4()})
    sync(portal)
    (remote,) = [s for s in sandbox.state()["spaces"] if s["name"] == "Flat 7"]
    assert remote["isParticipatingInLttProject"] is True


def test_a_unit_address_spark_s_locations_do_not_hold_is_told_before_saving(
    spark, portal, admin_client
):
    portal.PROVIDERS = ["spark"]  # the current form (the default): a location, no address
    flat = unit(building(), "Flat 1", address_line_one="Altweg 2", postcode="8004", city="Zürich")
    ana = services.save(TenantUser(unit=flat, name="Ana", email="a@example.org"))
    services.save(Meter(tenant=ana, meter_point_id="CH101230123450000000000000001234"))
    sync(portal)
    form = text(admin_client.get(f"/admin/onboarding/space/{flat.pk}/change/"))
    assert "Not sent if changed: Spark&#x27;s locations hold no address" in form


@pytest.mark.usefixtures("spark_guide")
def test_a_new_unit_address_spark_cannot_take_is_not_sent(spark, portal, admin_client, staff):
    portal.PROVIDERS = ["spark"]
    flat = unit(building(), "Flat 1", address_line_one="Altweg 2", postcode="8004", city="Zürich")
    ana = services.save(TenantUser(unit=flat, name="Ana", email="a@example.org"))
    meter = services.save(Meter(tenant=ana, meter_point_id="CH101230123450000000000000001234"))
    sync(portal)
    form = text(admin_client.get(f"/admin/onboarding/space/{flat.pk}/change/"))
    assert "Not sent if changed: Spark cannot change a meter once registered" in form

    flat.address_line_one = "Neuweg 9"
    services.save(flat)
    sync(portal)
    row = meter.sync_records.get(provider="spark")
    assert row.state == State.SYNCED and row.not_sent.startswith("Spark cannot change a meter")
    (user,) = spark.state()["users"]
    assert user["meters"][0]["address"]["street"] == "Altweg 2"  # Spark kept the old one
    page = text(staff.get(f"/tenants/{ana.pk}/"))
    assert "not sent: Spark cannot change a meter once registered" in page


def test_the_admin_badge_is_never_a_plain_synced_for_what_did_not_reach(sandbox, portal):
    from onboarding.sync_display import badge

    flat = unit(building(), "Flat 1", is_participating_in_ltt_project=False)
    sync(portal)
    flat.is_participating_in_ltt_project = True
    services.save(flat)
    sync(portal)
    row = flat.sync_records.get(provider="zaehlerfreunde")
    assert badge(row)["text"] == f"Zählerfreunde: Synced (not sent: {LTT_NOT_SENT})"
