"""The catalogue that helps (issue 17 item 5): the picker shows the site a meter belongs
to, words rather than codes, both platforms, the building's own Climkit site first, and
tells identical names apart; a catalogue never read is read when a picker needs it; the
admin shows a refresh under way and its result."""

import uuid

import pytest
from django.utils import timezone

from onboarding import services
from onboarding.catalogue.models import CatalogueEntry, CatalogueRefresh, CatalogueRefreshQueued
from onboarding.catalogue.tasks import refresh_catalogue
from tests import pages_helpers
from tests.test_pages_views import SPACE, fragment, start, step_url

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db


def entry(platform, kind, remote_id, name, **fields) -> CatalogueEntry:
    now = timezone.now()
    return CatalogueEntry.objects.create(
        platform=platform, kind=kind, remote_id=remote_id, name=name, first_seen=now,
        last_seen=now, **fields,
    )  # fmt: skip


def refreshed(*platforms):
    now = timezone.now()
    for platform in platforms:
        CatalogueRefresh.objects.create(
            platform=platform, started_at=now, finished_at=now, ok=True, message="ok"
        )


@pytest.fixture
def catalogue():
    refreshed("smartme", "climkit")
    site_a = entry("climkit", "site", "site-a", "Sonnenhof Süd")
    site_b = entry("climkit", "site", "site-b", "Birkenhof")
    for i in range(20):  # more smart-me meters than the picker shows
        entry("smartme", "device", f"sm-{i}", f"Zähler {i:02}", medium="electricity")
    entry("climkit", "meter", "ck-1", "Wasser", medium="cold_water", parent=site_b)
    entry("climkit", "meter", "ck-2", "Wasser", medium="cold_water", parent=site_a, serial="77")
    entry("climkit", "meter", "ck-3", "Ladestation", medium="charge_point", parent=site_a)
    return site_a


def picker(client, wizard, q="") -> str:
    url = step_url(wizard, 2) + f"?picker=1&q={q}"
    return client.get(url, **fragment("catalogue")).content.decode()


def wizard_in(client, site=None):
    wizard = start(client)
    client.post(step_url(wizard, 1), {**SPACE, "token": uuid.uuid4()})
    wizard.refresh_from_db()
    if site is not None:
        wizard.building.climkit_site = site
        services.save(wizard.building)
    return wizard


def rows(html: str) -> list[str]:
    return html.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]


def test_the_picker_shows_both_platforms_sites_and_words(staff, catalogue):
    html = picker(staff, wizard_in(staff))
    assert "smart-me" in html and "Climkit" in html  # Climkit not hidden by 20 smart-me rows
    assert ">climkit<" not in html and ">smartme<" not in html
    assert "Cold water" in html and "Charge point" in html
    assert "cold_water" not in html and "charge_point" not in html
    assert "Sonnenhof Süd" in html and "Birkenhof" in html


def test_identical_names_are_told_apart(staff, catalogue):
    html = picker(staff, wizard_in(staff), q="Wasser")
    assert 'Wasser <span class="muted">(#77)</span>' in html
    assert 'Wasser <span class="muted">(ck-1)</span>' in html


def test_the_buildings_own_climkit_site_comes_first(staff, catalogue):
    html = picker(staff, wizard_in(staff, site=catalogue), q="Wasser")
    first, second = rows(html)
    assert "Sonnenhof Süd" in first and "this building" in first
    assert "Birkenhof" in second


def test_a_catalogue_never_read_is_read_when_a_picker_needs_it(staff):
    wizard = wizard_in(staff)
    html = picker(staff, wizard)
    assert "had never been read: it is being read now" in html
    assert set(CatalogueRefreshQueued.objects.values_list("platform", flat=True)) == {
        "smartme",
        "climkit",
    }
    again = picker(staff, wizard)  # asked once, not on every view
    assert CatalogueRefreshQueued.objects.count() == 2 and "being read now" not in again


def test_the_admin_shows_a_refresh_under_way_then_its_result(admin_client, settings):
    settings.PROVIDERS = ["smartme"]
    response = admin_client.post(
        "/admin/onboarding/catalogueentry/refresh/", {"platform": "smartme"}, follow=True
    )
    page = response.content.decode()
    assert "smart-me: refreshing" in page and 'http-equiv="refresh"' in page
    assert "never refreshed yet" not in page
    refresh_catalogue("smartme")  # as the worker would (no sandbox: it fails, and says so)
    page = admin_client.get("/admin/onboarding/catalogueentry/").content.decode()
    assert "refreshing" not in page and 'http-equiv="refresh"' not in page
    assert CatalogueRefresh.objects.get().message in page.replace("&#x27;", "'")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_started_by_make_run_reads_every_catalogue(portal, start_worker):
    from tests.conftest import wait_until

    start_worker(CATALOGUE_REFRESH_AT_START="true")
    wait_until(
        lambda: (
            set(CatalogueRefresh.objects.values_list("platform", flat=True))
            == {"smartme", "climkit"}
        ),
        timeout=60,
        message="both catalogues read at start-up",
    )
    assert CatalogueEntry.objects.filter(platform="smartme").exists()
    assert not CatalogueRefreshQueued.objects.exists()
