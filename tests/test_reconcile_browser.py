"""The drift page in a real browser (Chromium via Playwright, a live server, a real
worker): what Zählerfreunde lost and holds otherwise, fixed with one click, compared
again from the page; and a "not sent: <why>" badge. Screenshots are kept under
VAR_DIR/screenshots/ (drift-page.png, not-sent-badge.png) and printed."""

import pytest
from django.conf import settings

from onboarding import services
from onboarding.models import Comparison, Space, SyncRecord
from onboarding.sync import reconcile
from providers.zaehlerfreunde.client import ZaehlerfreundeClient

from .conftest import wait_until
from .factories import building_with_units, unit
from .test_pages_browser import browser, shots, signed_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def kept(name: str):
    folder = settings.VAR_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def synced():
    rows = SyncRecord.objects.filter(provider="zaehlerfreunde")
    return all(r.state == SyncRecord.State.SYNCED for r in rows)


def test_drift_fixed_from_the_page_and_a_not_sent_badge(
    browser,  # noqa: F811
    live_server,
    sandbox,
    worker,
    shots,  # noqa: F811
):
    home = building_with_units(2)
    attic = unit(home, "Attic", is_participating_in_ltt_project=False)
    wait_until(synced, timeout=60, message="all synced")
    attic.is_participating_in_ltt_project = True  # Zählerfreunde keeps "no" from the create
    services.save(attic)
    wait_until(lambda: attic.sync_records.get().not_sent, timeout=60, message="not sent")
    flat1, flat2 = Space.objects.filter(parent=home, name__startswith="Flat").order_by("name")
    platform = ZaehlerfreundeClient(
        f"{live_server.url}/sandbox/zaehlerfreunde/partner", "portal-sandbox", "sandbox-secret"
    )
    platform.delete_space(flat2.sync_records.get().remote_id)
    platform.update_space(flat1.sync_records.get().remote_id, {"name": "Flat 1 (by hand)"})
    reconcile.run(["zaehlerfreunde"], started_by="beat")

    page = signed_in(browser, live_server)
    page.get_by_role("link", name="What the platforms hold").click()
    page.get_by_role("heading", name="Zählerfreunde").wait_for()
    page.get_by_text("name: ours “Flat 1”, theirs “Flat 1 (by hand)”").wait_for()
    page.screenshot(path=kept("drift-page.png"), full_page=True)
    page.screenshot(path=shots / "drift-page.png", full_page=True)

    page.get_by_role("button", name=f"Re-create: {flat2}").click()
    page.get_by_text("Done: Re-created.").wait_for()
    page.get_by_role("button", name=f"Send ours: {flat1}").click()
    page.get_by_text("Done: Sent ours again.").wait_for()
    wait_until(synced, timeout=60, message="the worker pushed the fixes")
    page.get_by_role("button", name="Compare now").click()  # a worker compares; the page polls
    page.get_by_role("heading", name="Missing there (0)").wait_for()
    page.get_by_role("heading", name="Different (1)").wait_for()  # the flag: not sent
    asked = Comparison.objects.filter(started_by="olivia")  # who pressed it, not "beat"
    wait_until(asked.exists, timeout=30, message="the comparison names who asked for it")
    page.screenshot(path=kept("drift-page-after-fixes.png"), full_page=True)
    state = sandbox.state()
    assert sorted(s["name"] for s in state["spaces"]) == [
        "Attic", "Flat 1", "Flat 2", "Lindenhof",
    ]  # fmt: skip
    assert state["counts"]["devices"] == 2

    page.goto(f"{live_server.url}/spaces/{attic.pk}/")
    badge = page.locator(".badge.not_sent").first
    badge.wait_for()
    assert badge.inner_text().startswith("not sent: Zählerfreunde holds the Mieterstrom flag")
    page.locator("#platforms").screenshot(path=kept("not-sent-badge.png"))
    page.screenshot(path=shots / "not-sent-page.png", full_page=True)
    print(f"kept: {kept('drift-page.png')}, {kept('not-sent-badge.png')}")
