"""The Content-Security-Policy in a real browser (issue 18, item 12): every kind of page
(the portal's, the admin's, the sandboxes' trainer pages) works under it, with htmx's
allowEval off, and the browser reports no violation."""

import pytest

from onboarding.models import Device
from tests.factories import building, device, unit
from tests.pages_helpers import PASSWORD, make_user
from tests.test_pages_browser import browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.django_db(transaction=True)

# Every violation the page sees, whichever directive (Playwright's init scripts are not
# subject to the page's policy).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_every_kind_of_page_works_under_the_policy(browser, live_server, portal):  # noqa: F811
    home = building()
    flat = unit(home, "Flat 1")
    device(flat, "Main meter", external_id="CH1")
    user = make_user("sam", None)
    user.is_superuser = True  # onboarding staff, support and trainer at once
    user.save()

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    page.add_init_script(WATCH)
    errors: list[str] = []

    def console(message) -> None:
        # The favicon is not this test's business (the pages issue adds one).
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.evaluate("htmx.config.allowEval") is False

    # htmx at work under the policy: the dashboard's search swaps the list in place.
    with page.expect_response(lambda r: "q=Linden" in r.url):
        page.get_by_role("searchbox").fill("Linden")
    page.locator("#buildings").get_by_text("Lindenhof").first.wait_for()

    visited = []

    def visit(path: str) -> None:
        response = page.goto(live_server.url + path)
        assert response.status < 400, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        visited.append(path)
        violations = page.evaluate("window.__violations")
        assert violations == [], (path, violations)

    meter = Device.objects.get()
    for path in (
        "/onboard/", "/import/", f"/spaces/{home.pk}/", f"/spaces/{flat.pk}/",
        f"/devices/{meter.pk}/",
        "/admin/", "/admin/onboarding/device/", f"/admin/onboarding/device/{meter.pk}/change/",
        "/admin/onboarding/space/add/", "/admin/onboarding/providerconnection/",
        "/admin/onboarding/catalogueentry/", "/admin/axes/accessattempt/",
        "/sandbox/zaehlerfreunde/", "/sandbox/smartme/", "/sandbox/climkit/",
        "/sandbox/spark/", "/sandbox/zevvy/", "/sandbox/zevvy/auth/realms/zevvy/device",
    ):  # fmt: skip
        visit(path)

    # The admin's htmx panel (Connect zevvy) runs with allowEval off too.
    page.goto(live_server.url + "/admin/onboarding/providerconnection/")
    assert page.evaluate("htmx.config.allowEval") is False

    # A trainer's switch, a form under form-action 'self'.
    page.goto(live_server.url + "/sandbox/zaehlerfreunde/")
    page.locator("select[name=fail]").select_option("503")
    page.get_by_role("button", name="Switch on").click()
    page.get_by_text("status 503").wait_for()

    assert page.evaluate("window.__violations") == []
    assert errors == [], errors
