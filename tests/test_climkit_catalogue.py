"""Climkit's catalogue: `fetch(client)` against the sandbox over real HTTP, and the
portal's refresh of it end to end (new, changed, gone, failed half-way), then a link."""

import pytest

from onboarding.catalogue import links
from onboarding.catalogue.refresh import RefreshFailed, refresh
from onboarding.models import CatalogueEntry, Device, Medium
from onboarding.sync.tokens import DatabaseTokenStore
from providers.catalogue import CatalogueItem
from providers.climkit import catalogue
from providers.climkit.client import ClimkitClient
from providers.ratelimit import BudgetSpec, shared_budget
from tests.climkit_support import ClimkitControl

from .factories import building, unit

pytestmark = pytest.mark.django_db(transaction=True)
# Not about the limit: a quick budget and sandbox (see test_climkit_client.py).
FAST = BudgetSpec("climkit-catalogue-tests", per_seconds=0.1, margin_ms=100)


@pytest.fixture
def climkit(portal, live_server) -> ClimkitControl:
    control = ClimkitControl(live_server.url)
    control.rate_limit(FAST.per_seconds)
    return control


@pytest.fixture
def client(climkit) -> ClimkitClient:
    return ClimkitClient(
        climkit.api, "portal-sandbox", "sandbox-secret",
        token_store=DatabaseTokenStore("climkit"), acquire=shared_budget(FAST).acquire,
    )  # fmt: skip


def entries() -> dict[tuple[str, str], CatalogueEntry]:
    return {(e.kind, e.remote_id): e for e in CatalogueEntry.objects.filter(platform="climkit")}


def test_fetch_lists_sites_their_meters_and_sensors(client, climkit):
    items = catalogue.fetch(client)
    assert all(isinstance(i, CatalogueItem) for i in items)
    kinds = [i.kind for i in items]
    assert kinds.count("site") == 3 and kinds.count("meter") == 26 and kinds.count("sensor") == 4
    site = next(i for i in items if i.kind == "site" and i.name == "Lindenhof")
    assert site.serial == "CK-ZH-0142" and site.raw["address"]["city"] == "Zürich"
    charger = next(i for i in items if i.name == "Ladestation P1")
    assert charger.kind == "meter" and charger.medium == "charge_point"
    assert charger.parent == ("site", site.remote_id) and charger.raw["site_id"] == site.remote_id
    sensor = next(i for i in items if i.kind == "sensor" and i.medium == "co2")
    assert sensor.parent == ("site", site.remote_id) and sensor.last_value_unit == "ppm"
    # 1 + 3 reads per site, one login: the refresh's cost in a budget of one a second.
    assert sum(climkit.state()["requests"].values()) == 1 + 1 + 3 * 3


def test_refresh_finds_new_changed_and_gone_and_keeps_all_when_it_fails(client, climkit):
    first = refresh("climkit", client=client)
    assert (first.new, first.total) == (33, 33)
    rows = entries()
    site = next(e for e in rows.values() if e.kind == "site" and e.name == "Rebberg")
    flat = next(e for e in rows.values() if e.name == "Wohnung A")
    assert flat.parent == site

    heating = next(e for e in rows.values() if e.name == "Heizung Gas")
    added = climkit.add_meter(site_id=site.remote_id, name="Wallbox", type="charge_point")
    climkit.change_meter(flat.remote_id, name="Wohnung A (Attika)")
    climkit.remove_meter(heating.remote_id)
    second = refresh("climkit", client=client)
    assert (second.new, second.changed, second.gone, second.total) == (1, 1, 1, 33)
    rows = entries()
    assert rows[("meter", added["id"])].parent == site
    assert rows[("meter", flat.remote_id)].name == "Wohnung A (Attika)"
    assert rows[("meter", heating.remote_id)].gone_since is not None

    before = sorted(CatalogueEntry.objects.values_list("remote_id", "name", "gone_since"))
    climkit.remove_meter(added["id"])
    climkit.fault("error", count=1, status=500, path=f"/meter_info/{site.remote_id}")
    with pytest.raises(RefreshFailed, match="Climkit .* is failing"):
        refresh("climkit", client=client)
    assert sorted(CatalogueEntry.objects.values_list("remote_id", "name", "gone_since")) == before


def test_a_device_linked_to_a_climkit_meter_takes_what_it_lacks(client):
    refresh("climkit", client=client)
    charger = CatalogueEntry.objects.get(platform="climkit", name="Ladestation P1")
    home = building()
    flat = unit(home, "Parking")
    meter = Device(space=flat, name="", medium="", is_main_device=False)  # nothing typed
    links.link_device(meter, charger)
    links.link_space(home, charger.parent)
    meter.refresh_from_db()
    assert meter.name == "Ladestation P1" and meter.medium == Medium.ELECTRICITY
    assert meter.climkit_meter == charger
    home.refresh_from_db()
    assert home.climkit_site.name == "Lindenhof"
