"""Day-to-day work in a real browser (issue 17's walk): Chromium driven by Playwright,
against the live server, a real Celery worker and the sandboxes. Edits a unit and a
device, moves the device, changes the tenant (the old one's access gone on Zählerfreunde
and Spark, the new one invited), discards an unfinished onboarding and imports an .xlsx,
checking each result on the sandboxes. Screenshots go to the test's tmp folder (and to
SHOTS_DIR when set).
"""

import datetime
import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from onboarding import services
from onboarding.models import Device, Invite, Meter, Space, SyncRecord, TenantUser, Wizard
from onboarding.spreadsheets import write_xlsx
from tests.conftest import SandboxControl, wait_until
from tests.test_pages_browser import browser, shots, signed_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
State = SyncRecord.State
SLOW = 60.0  # generous waits: the machine may be loaded


def all_synced() -> bool:
    return not SyncRecord.objects.exclude(state=State.SYNCED).exists()


def keep(shots_dir: Path, page, name: str) -> None:
    path = shots_dir / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    extra = os.environ.get("SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


def home_with_a_tenant():
    home = services.save(
        Space(name="Ahornhof", category="APARTMENT_BUILDING", address_line_one="Ahornweg 3",
              postcode="3000", city="Bern")
    )  # fmt: skip
    one = services.save(Space(name="Flat 1", parent=home, category="FLAT"))
    services.save(Space(name="Flat 2", parent=home, category="FLAT"))
    meter = services.save(
        Device(space=one, name="Main meter", external_device_id="CH-WALK-1", is_main_device=True)
    )
    ben = services.save(TenantUser(unit=one, name="Ben Keller", email="ben@example.org"))
    services.save(Meter(tenant=ben, meter_point_id="CH1012301234500000000000000077777"))
    services.save(Invite(space=one, tenant=ben, email="ben@example.org", send_invite_email=True))
    return home, one, meter, ben


def accept(zf: SandboxControl, link: str) -> None:
    token = link.rstrip("/").rsplit("/", 1)[-1]
    zf.http.post(f"{zf.control}/invites/{token}/accept", json={}, timeout=10).raise_for_status()


def test_day_to_day_work_in_the_pages(browser, live_server, portal, worker, shots, tmp_path):  # noqa: F811
    zf = SandboxControl(live_server.url, "zaehlerfreunde")
    spark = SandboxControl(live_server.url, "spark")
    home, one, meter, ben = home_with_a_tenant()
    wait_until(all_synced, timeout=SLOW, message="the household synced")
    accept(zf, Invite.objects.get().invite_link)  # Ben joined the unit on Zählerfreunde
    ben_spark = ben.sync_records.get(provider="spark").remote_id
    assert zf.count("space_users") == 1
    page = signed_in(browser, live_server)
    base = live_server.url

    # 1. Edit the unit: its second address line reaches Zählerfreunde.
    page.goto(f"{base}/spaces/{one.pk}/")
    page.get_by_role("link", name="Change", exact=True).click()
    page.get_by_label("Address line two (e.g. floor)").fill("2nd floor left")
    keep(shots, page, "1-edit-unit")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Each platform's state below updates by itself").wait_for()
    page.locator("#platforms .badge.synced").first.wait_for(timeout=SLOW * 1000)
    remote_flat = one.sync_records.get(provider="zaehlerfreunde").remote_id
    wait_until(
        lambda: (
            next(s for s in zf.state()["spaces"] if s["id"] == remote_flat)["addressLineTwo"]
            == "2nd floor left"
        ),
        timeout=SLOW,
        message="the unit's change on Zählerfreunde",
    )
    keep(shots, page, "1-unit-saved")

    # 2. A fixed field is refused with its reason; then rename and move the device.
    page.goto(f"{base}/devices/{meter.pk}/")
    page.get_by_role("link", name="Change", exact=True).click()
    page.get_by_label("Medium").select_option("GAS")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("cannot change a device's medium").wait_for()
    keep(shots, page, "2-device-refused")
    page.get_by_label("Medium").select_option("ELECTRICITY")
    page.get_by_label("Device name").fill("Meter hallway")
    page.locator("#id_space").select_option(label="Ahornhof / Flat 2")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Each platform's state below updates by itself").wait_for()
    flat2 = Space.objects.get(name="Flat 2")
    remote_flat2 = flat2.sync_records.get(provider="zaehlerfreunde").remote_id

    wait_until(lambda: all_synced() and _device_in(zf, remote_flat2, "Meter hallway"),
               timeout=SLOW, message="the device moved on Zählerfreunde")  # fmt: skip
    page.reload()
    keep(shots, page, "2-device-moved")

    # 3. Change of tenant from the unit's page.
    page.goto(f"{base}/spaces/{one.pk}/")
    page.get_by_role("link", name="Change of tenant").click()
    page.get_by_text("removed from the space if they accepted").wait_for()
    assert page.get_by_role("heading", name="Volue Spark").count() >= 1
    moved_out = timezone.localdate() + datetime.timedelta(days=30)
    page.get_by_label("Move-out date").fill(moved_out.isoformat())
    page.get_by_label("The new tenant moves in on").fill(
        (moved_out + datetime.timedelta(days=1)).isoformat()
    )
    keep(shots, page, "3-change-of-tenant")
    page.get_by_role("button", name="End the tenancy and onboard the new tenant").click()
    page.get_by_role("heading", name="3. The tenant").wait_for()
    page.get_by_label("Full name").fill("Mia Muster")
    page.get_by_label("E-mail").fill("mia@example.org")
    page.get_by_role("button", name="Continue").click()  # saves what was typed
    page.get_by_role("heading", name="4. The Zählerfreunde invite").wait_for()
    page.get_by_role("button", name="Create the invite").click()
    page.get_by_text("Zählerfreunde created the invite and e-mailed it").wait_for(
        timeout=SLOW * 1000
    )
    keep(shots, page, "3-new-tenant-invited")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="5. Done").wait_for()
    wait_until(all_synced, timeout=SLOW, message="the change of tenant synced")
    state = zf.state()
    assert state["space_users"] == []  # Ben's access to the unit is gone
    assert [i["userEmail"] for i in state["invites"] if i["spaceId"] == remote_flat] == [
        "ben@example.org",
        "mia@example.org",
    ]
    assert any(e["to"] == "mia@example.org" for e in state["emails"])
    spark_users = {u["userId"] for u in spark.state()["users"]}
    assert ben_spark not in spark_users and len(spark_users) == 1  # Mia's only
    assert not TenantUser.objects.filter(name="Ben Keller").exists()
    assert Device.objects.count() == 1 and zf.count("devices") == 1  # devices stay
    page.goto(f"{base}/spaces/{one.pk}/")
    history = page.locator("#history-heading + table").inner_text()
    assert "Ben Keller" in history and "Mia Muster" in history
    keep(shots, page, "3-tenancy-history")

    # 4. Discard an unfinished onboarding: what it made on Zählerfreunde goes again.
    page.goto(f"{base}/onboard/")
    page.get_by_role("button", name="Start a new onboarding").click()
    # Choosing an existing building hides the new building's fields; and back.
    page.wait_for_load_state("networkidle")  # htmx has taken the new page in hand

    def chosen() -> bool:
        # A change made before htmx set up the swapped-in step is not seen: choose again.
        if page.locator("#new-building[hidden]").count():
            return True
        page.get_by_label("Existing building").select_option(label="Ahornhof")
        page.wait_for_load_state("networkidle")
        return page.locator("#new-building[hidden]").count() > 0

    wait_until(chosen, timeout=SLOW, interval=0.5, message="new building's fields hidden")
    assert not page.get_by_label("Building name").is_visible()
    page.get_by_label("Existing building").select_option(index=0)
    page.locator("#new-building:not([hidden])").wait_for()
    page.wait_for_load_state("networkidle")  # the step is swapped in before we type
    page.get_by_label("Building name").fill("Föhrenhof")
    page.get_by_label("Street and number").fill("Föhrenweg 9")
    page.get_by_label("Postcode").fill("3000")
    page.get_by_label("City").fill("Bern")
    page.get_by_label("Unit name").fill("Flat 9")
    page.get_by_label("Takes part in the Mieterstrom project").select_option("false")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_role("heading", name="2. Devices").wait_for()
    wait_until(lambda: zf.count("spaces") == 5, timeout=SLOW, message="Föhrenhof on ZF")
    wait_until(all_synced, timeout=SLOW, message="Föhrenhof synced")
    page.goto(f"{base}/onboard/")
    page.get_by_role("link", name="Discard Föhrenhof / Flat 9").click()
    page.get_by_text("on Zählerfreunde").first.wait_for()
    keep(shots, page, "4-discard")
    page.get_by_role("button", name="Discard and remove it here and on the platforms").click()
    page.get_by_text("Onboarding discarded").wait_for()
    wait_until(lambda: zf.count("spaces") == 3, timeout=SLOW, message="Föhrenhof gone from ZF")
    wait_until(lambda: not Space.objects.filter(name="Föhrenhof").exists(), timeout=SLOW)
    assert not Wizard.objects.filter(unit__name="Flat 9").exists()

    # 5. Import an .xlsx: previewed, confirmed, synced.
    xlsx = tmp_path / "birkenhof.xlsx"
    xlsx.write_bytes(
        write_xlsx(
            ["building", "address_line_one", "postcode", "city", "unit", "device_name",
             "external_device_id", "tenant_name", "tenant_email"],
            [["Birkenhof", "Birkenweg 1", 3000, "Bern", f"Flat {n}", "Main meter",
              f"CH-XLSX-{n}", f"Tenant {n}", f"t{n}@example.org"] for n in (1, 2)],
        )
    )  # fmt: skip
    page.get_by_role("link", name="Import a building", exact=True).click()
    page.get_by_role("heading", name="The columns").wait_for()
    page.get_by_label("CSV or Excel file").set_input_files(str(xlsx))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("The file is valid").wait_for()
    keep(shots, page, "5-import-preview")
    page.get_by_role("button", name="Import and sync").click()
    page.get_by_text("Every platform has answered.").wait_for(timeout=SLOW * 1000)
    keep(shots, page, "5-import-done")
    names = {s["name"] for s in zf.state()["spaces"]}
    assert {"Birkenhof", "Flat 1", "Flat 2"} <= names and zf.count("devices") == 3
    assert zf.count("invites") == 4

    # 6. The admin's device list fits 1,400 px.
    page.goto(f"{base}/admin/onboarding/device/")
    keep(shots, page, "6-admin-devices")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400


def _device_in(zf: SandboxControl, space_id: str, name: str) -> bool:
    state = zf.state()
    if len(state["devices"]) != 1:
        return False
    [remote] = state["devices"]
    spaces = [link.get("spaceId") for link in remote.get("links", [])]
    return remote["name"] == name and spaces == [space_id]
