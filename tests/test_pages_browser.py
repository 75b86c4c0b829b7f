"""The onboarding walk in a real browser: Debian's Chromium driven by Playwright,
against the live server, a real Celery worker and the sandboxes.

Chromium missing is a failure that says so; SKIP_BROWSER_TESTS=1 skips these on
purpose (and the skip says it was asked for). Screenshots of each step go to the
test's own tmp folder (printed at the end of each test).
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core import mail

from onboarding.models import Device, Invite, Space, SyncRecord, TenantUser, Vehicle
from onboarding.roles import ONBOARDING_STAFF
from providers import registry
from tests.conftest import SandboxControl, wait_until
from tests.pages_helpers import PASSWORD, make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking"]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch):
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1: browser tests skipped on purpose")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium is missing ({CHROMIUM}); the browser tests need it: "
            "apt-get install -y chromium (make test does this as root), "
            "or set SKIP_BROWSER_TESTS=1 to skip them on purpose."
        )
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


OPEN_PAGES: list = []


@pytest.fixture
def shots(tmp_path):
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    for number, page in enumerate(OPEN_PAGES):  # how it ended, pass or fail
        page.screenshot(path=folder / f"last-{number}.png", full_page=True)
    OPEN_PAGES.clear()
    print(f"screenshots: {folder}")


def signed_in(browser, live_server, username="olivia"):
    make_user(username, ONBOARDING_STAFF)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    OPEN_PAGES.append(page)
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    return page


def test_onboard_a_tenant_through_the_five_steps(browser, live_server, portal, worker, shots):
    from onboarding.catalogue.refresh import refresh

    zf = SandboxControl(live_server.url, "zaehlerfreunde")
    refresh("smartme")
    page = signed_in(browser, live_server)
    page.screenshot(path=shots / "0-dashboard.png", full_page=True)

    page.get_by_role("link", name="Onboard a tenant").first.click()
    page.get_by_role("button", name="Start a new onboarding").click()

    # 1 Space: a new building, and the unit; a missing postcode first, shown in place.
    page.get_by_label("Building name").fill("Sonnenhof")
    page.get_by_label("Street and number").fill("Sonnenweg 1")
    page.get_by_label("City").fill("Bern")
    page.get_by_label("Unit name").fill("Flat 7")
    page.get_by_role("button", name="Save and continue").click()
    page.locator("#id_b-postcode_errors").wait_for()
    assert page.get_by_label("Postcode").get_attribute("aria-invalid") == "true"
    assert Space.objects.count() == 0  # nothing saved, nothing sent
    page.screenshot(path=shots / "1-space-errors.png", full_page=True)
    page.get_by_label("Postcode").fill("3000")
    # Zählerfreunde keeps the Mieterstrom flag from the create: asked for, never "Unknown".
    page.get_by_label("Takes part in the Mieterstrom project").select_option("false")
    page.get_by_role("button", name="Save and continue").dblclick()  # a double click

    # 2 Devices: one from the smart-me catalogue, one by hand.
    page.get_by_role("heading", name="2. Devices").wait_for()
    page.wait_for_load_state("networkidle")  # the second click's answer has come too
    assert Space.objects.count() == 2  # one building, one unit, whatever the clicks
    search = page.get_by_label("Search by name or serial")

    def searched() -> bool:
        # The double click's second answer may still re-render this step and clear the
        # box: type again until the search sticks.
        if search.input_value() != "W1.1 Strom":
            search.fill("W1.1 Strom")
            search.press("Enter")
        return page.locator("#catalogue tbody tr").count() < 5

    wait_until(searched, message="search")
    page.locator("#catalogue tr", has_text="Lindenhof W1.1 Strom").get_by_role("button").click()
    page.locator("#step-body li", has_text="W1.1 Strom").wait_for()
    page.get_by_label("Device name").fill("Heat meter")
    page.get_by_label("Medium").select_option("HEATING")
    page.get_by_label("Device type").select_option("HEATING_METER")
    page.get_by_label("External device id").fill("CH-HEAT-7")
    page.get_by_role("button", name="Add device").click()
    page.get_by_role("link", name="Heat meter").wait_for()
    page.screenshot(path=shots / "2-devices.png", full_page=True)
    page.get_by_role("button", name="Continue").click()

    # 3 Tenant, and a vehicle where a platform takes vehicles.
    page.get_by_role("heading", name="3. The tenant").wait_for()
    page.get_by_label("Full name").fill("Mia Muster")
    page.get_by_label("E-mail").fill("mia@example.org")
    page.get_by_role("button", name="Save tenant").click()
    page.get_by_text("Saved: Mia Muster").wait_for()
    if registry.providers_for(Vehicle):
        page.locator("#id_vehicle-brand").fill("Renault")  # resources have a brand too
        page.locator("#id_vehicle-model").fill("Zoe")
        page.locator("button[value=add_vehicle]").click()
        page.get_by_text("Renault Zoe").wait_for()
    page.screenshot(path=shots / "3-tenant.png", full_page=True)
    page.get_by_role("button", name="Continue").click()

    # 4 Invite: the portal e-mails the link Zählerfreunde returns, in English.
    page.get_by_role("heading", name="4. The Zählerfreunde invite").wait_for()
    page.get_by_label("The portal e-mails the link Zählerfreunde returns").check()
    page.get_by_role("button", name="Create the invite").click()
    page.get_by_role("button", name="Send the e-mail").wait_for(timeout=30_000)
    page.get_by_label("Language of the e-mail").select_option("en")
    page.get_by_text("Your invitation to see your energy data for Flat 7").wait_for()
    page.screenshot(path=shots / "4-invite-preview.png", full_page=True)
    page.get_by_role("button", name="Send the e-mail").click()
    page.get_by_text("Invite e-mail sent to mia@example.org").wait_for()
    page.get_by_role("button", name="Continue").click()

    # 5 Done: every badge turns synced, and the page stops polling.
    page.get_by_role("heading", name="5. Done").wait_for()
    page.get_by_text("Every platform has answered.").wait_for(timeout=60_000)
    page.screenshot(path=shots / "5-done.png", full_page=True)
    badges = page.locator("#summary .badge:not(.none)").all_inner_texts()
    assert badges and all("synced" in text for text in badges), badges
    assert page.locator("#summary[hx-trigger]").count() == 0  # polling stopped

    # Exactly one of each, here and on the sandbox; the e-mail went out once.
    assert Space.objects.count() == 2
    assert Device.objects.count() == 2
    assert TenantUser.objects.count() == 1 and Invite.objects.count() == 1
    assert Device.objects.filter(smartme_device__isnull=False).count() == 1
    state = zf.state()["counts"]
    assert (state["spaces"], state["devices"], state["invites"]) == (2, 2, 1)
    assert not SyncRecord.objects.exclude(state=SyncRecord.State.SYNCED).exists()
    assert len(mail.outbox) == 1
    assert Invite.objects.get().invite_link in mail.outbox[0].body
    assert mail.outbox[0].to == ["mia@example.org"]


def test_a_failing_sandbox_shows_waiting_to_retry_and_recovers(
    browser, live_server, portal, start_worker, shots
):
    # Retries a few seconds apart, so the page can show the wait.
    portal.SYNC_BACKOFF_BASE_SECONDS = portal.SYNC_BACKOFF_CAP_SECONDS = 5.0
    start_worker(SYNC_BACKOFF_BASE_SECONDS=5, SYNC_BACKOFF_CAP_SECONDS=5)
    zf = SandboxControl(live_server.url, "zaehlerfreunde")
    page = signed_in(browser, live_server)
    zf.fault("error", count=1, status=503)
    from tests.factories import building

    home = building("Regenhof")
    page.goto(f"{live_server.url}/spaces/{home.pk}/")
    page.get_by_text("waiting to retry at").first.wait_for()
    assert "503" in page.locator("#platforms").inner_text()  # the platform's answer, in words
    page.screenshot(path=shots / "retrying.png", full_page=True)
    page.locator("#platforms .badge.synced").wait_for(timeout=30_000)
    page.screenshot(path=shots / "recovered.png", full_page=True)
    assert zf.count("spaces") == 1


def test_a_csv_with_one_bad_row_shows_it_and_imports_nothing(browser, live_server, portal, shots):
    page = signed_in(browser, live_server)
    csv = shots.parent / "bad.csv"
    csv.write_text(
        "building;address_line_one;postcode;city;unit;tenant_name;tenant_email\n"
        "Hof;Weg 1;8000;Zürich;Flat 1;Ann;ann@example.org\n"
        "Hof;Weg 1;8000;Zürich;Flat 2;Ben;not-an-email\n"
    )
    page.get_by_role("link", name="Import a building", exact=True).click()
    page.get_by_label("CSV or Excel file").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("nothing was imported").wait_for()
    row = page.locator("tbody tr", has_text="tenant_email")
    assert row.locator("td").first.inner_text() == "3"
    page.screenshot(path=shots / "import-error.png", full_page=True)
    assert Space.objects.count() == 0
    assert not list(Path(portal.VAR_DIR, "imports").glob("*.csv"))
