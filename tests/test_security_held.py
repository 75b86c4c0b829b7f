"""What held in the attacker's review (issue 18), kept as tests so it goes on holding:
a viewer's POSTs are 403 and change nothing, a POST without the CSRF token is refused,
names that are HTML are shown as text everywhere."""

import uuid

import pytest
from django.test import Client

from onboarding.models import Space, SyncRecord, Wizard

from . import pages_helpers
from .factories import building, device, unit

viewer_user, viewer = pages_helpers.viewer_user, pages_helpers.viewer
staff_user = pages_helpers.staff_user
pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_a_viewers_posts_are_403_and_change_nothing(viewer):
    home = building()
    flat = unit(home, "Flat 1")
    before = (Space.objects.count(), SyncRecord.objects.count(), Wizard.objects.count())
    row = SyncRecord.objects.first()
    for url, data in (
        ("/sync/retry/", {"row": row.pk}),
        ("/onboard/", {"token": uuid.uuid4()}),
        ("/import/", {}),
        (f"/spaces/{flat.pk}/", {"name": "changed"}),
    ):
        assert viewer.post(url, data).status_code == 403, url
    assert (Space.objects.count(), SyncRecord.objects.count(), Wizard.objects.count()) == before
    assert Space.objects.get(pk=flat.pk).name == "Flat 1"


def test_a_post_without_the_csrf_token_is_refused(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post("/onboard/", {"token": uuid.uuid4()}).status_code == 403
    assert not Wizard.objects.exists()
    anonymous = Client(enforce_csrf_checks=True)
    login = anonymous.post("/login/", {"username": "olivia", "password": pages_helpers.PASSWORD})
    assert login.status_code == 403 and "_auth_user_id" not in anonymous.session


def test_html_in_names_is_shown_as_text(staff_user, settings):
    home = building(XSS)
    flat = unit(home, XSS)
    meter = device(flat, XSS, external_id="CH1")
    support = pages_helpers.make_user("sam", None)
    support.is_superuser = True
    support.save()
    client = Client()
    client.force_login(support)
    for url in (
        "/", f"/spaces/{home.pk}/", f"/spaces/{flat.pk}/", f"/devices/{meter.pk}/",
        "/admin/onboarding/space/", f"/admin/onboarding/space/{home.pk}/change/",
        "/admin/onboarding/device/", "/admin/onboarding/syncrecord/",
    ):  # fmt: skip
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert" in html, url
