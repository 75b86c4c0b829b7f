from tests import pages_helpers
from tests.factories import building_with_units
from tests.pages_helpers import HX

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff


def test_every_page_renders_whole_and_as_a_fragment(staff):
    home = building_with_units(2)
    unit = home.units.first()
    urls = [
        "/", "/onboard/", "/import/", f"/spaces/{home.pk}/", f"/spaces/{unit.pk}/",
        f"/devices/{unit.devices.first().pk}/", f"/tenants/{unit.tenants.first().pk}/",
    ]  # fmt: skip
    for url in urls:
        whole = staff.get(url)
        assert whole.status_code == 200, url
        assert b"<html" in whole.content
        if url == "/onboard/":
            continue  # a list with no fragment of its own
        fragment = staff.get(url, **HX, HTTP_HX_TARGET="main")
        assert fragment.status_code == 200, url
        assert b"<html" not in fragment.content, url
