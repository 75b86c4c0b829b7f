"""Who may see and change the portal's pages: sign-in, roles, 403s."""

import pytest
from django.contrib.auth.models import User

from tests import pages_helpers
from tests.factories import building_with_units
from tests.pages_helpers import HX, PASSWORD, make_user

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
viewer_user, viewer = pages_helpers.viewer_user, pages_helpers.viewer
pytestmark = pytest.mark.django_db

PAGES = ["/", "/onboard/", "/import/"]


def test_signed_out_visitors_are_sent_to_the_sign_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_a_signed_out_fragment_asks_htmx_to_go_to_the_sign_in(client):
    response = client.get("/", **HX, HTTP_HX_TARGET="buildings")
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/login/")


def test_root_is_the_portal_not_the_admin(staff):
    response = staff.get("/")
    assert response.status_code == 200
    assert b"Buildings and units" in response.content


def test_staff_sign_in_and_out(client, staff_user):
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_login_that_is_not_staff_is_refused(client):
    make_user("nina", None, staff=False)
    response = client.post("/login/", {"username": "nina", "password": PASSWORD})
    assert response.status_code == 200
    assert b"not for staff" in response.content
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_said_in_place(client, staff_user):
    response = client.post("/login/", {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_staff_without_a_role_get_403(client):
    client.force_login(make_user("rolf", None))
    response = client.get("/")
    assert response.status_code == 403
    assert b"no role" in response.content


def test_a_viewer_sees_every_page_but_cannot_change(viewer):
    home = building_with_units(1)
    for url in PAGES + [f"/spaces/{home.pk}/"]:
        assert viewer.get(url).status_code == 200, url
    assert b"read only" in viewer.get("/").content
    for url in ["/onboard/", "/import/", "/sync/retry/"]:
        response = viewer.post(url, {"token": "x"})
        assert response.status_code == 403, url
        assert b"Viewers can look but not change anything" in response.content


def test_a_viewer_post_as_fragment_is_a_403_fragment(viewer):
    response = viewer.post("/onboard/", **HX, HTTP_HX_TARGET="step-body")
    assert response.status_code == 403
    assert b"<html" not in response.content


def test_password_change(staff, staff_user):
    assert staff.get("/password/").status_code == 200
    response = staff.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-pass-77",
            "new_password2": "another-long-pass-77",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/password/done/"
    assert User.objects.get(pk=staff_user.pk).check_password("another-long-pass-77")


def test_the_roles_exist_after_migrating():
    from django.contrib.auth.models import Group, Permission

    from onboarding.roles import ensure_roles

    # What migration 0008 runs. A transactional test before this one (in this test
    # process) emptied the groups, and nothing re-creates them between tests.
    if not Group.objects.exists():
        ensure_roles(Group, Permission)

    staff_group = Group.objects.get(name="Onboarding staff")
    viewers = Group.objects.get(name="Viewers")
    assert staff_group.permissions.filter(codename="change_space").exists()
    assert viewers.permissions.filter(codename="view_space").exists()
    assert not viewers.permissions.exclude(codename__startswith="view_").exists()


def test_demo_login_is_onboarding_staff(settings, tmp_path):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # the demo login is for embedded mode
    call_command("ensure_demo_staff")
    assert User.objects.get(username="demo").groups.filter(name="Onboarding staff").exists()


def test_german_from_the_browser_and_the_switcher(staff):
    german = staff.get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert b'lang="de"' in german.content
    assert "Gebäude und Einheiten".encode() in german.content
    staff.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = staff.get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert b"Buildings and units" in english.content
