from tests.factories import building_with_units
from tests.pages_helpers import HX, staff, staff_user  # noqa: F401


def test_every_page_renders(staff):
    home = building_with_units(2)
    unit = home.units.first()
    for url in ["/", "/onboard/", "/import/", f"/spaces/{home.pk}/", f"/spaces/{unit.pk}/",
                f"/devices/{unit.devices.first().pk}/", f"/tenants/{unit.tenants.first().pk}/"]:
        r = staff.get(url)
        assert r.status_code == 200, (url, r.content[:2000])
        r = staff.get(url, **HX)
        assert r.status_code == 200, (url, r.content[:2000])
