"""The wizard defects a first real walk found (issue 17 item 4), each pinned by a test."""

import re
import uuid

import pytest

from onboarding.models import Device, ProviderConnection, TenantUser
from tests import pages_helpers
from tests.factories import building
from tests.test_pages_views import (
    SPACE,
    fragment,
    start,
    step_url,
    walk_to_devices,
    walk_to_invite,
)

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def test_continue_adds_the_device_typed_by_hand(staff):
    wizard = walk_to_devices(staff)
    response = staff.post(
        step_url(wizard, 2),
        {"action": "next", "token": uuid.uuid4(), "d-name": "Heat meter", "d-medium": "HEATING",
         "d-device_type": "HEATING_METER"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == step_url(wizard, 3)
    assert Device.objects.get().name == "Heat meter"


def test_continue_with_a_bad_typed_device_stops_and_says_why(staff):
    wizard = walk_to_devices(staff)
    response = staff.post(
        step_url(wizard, 2),
        {"action": "next", "token": uuid.uuid4(), "d-name": "Heat meter", "d-medium": "STEAM",
         "d-device_type": "HEATING_METER"},
        **fragment("step-body"),
    )  # fmt: skip
    assert response.status_code == 200 and "HX-Location" not in response
    assert "The device you typed is not added yet" in html(response)
    assert 'value="Heat meter"' in html(response)  # still there to correct
    wizard.refresh_from_db()
    assert wizard.step == 2 and not Device.objects.exists()


def test_continue_on_the_tenant_step_saves_what_was_typed(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    response = staff.post(
        step_url(wizard, 3),
        {"action": "next", "t-name": "Mia", "t-email": "mia@example.org", "token": uuid.uuid4()},
    )
    assert response["Location"] == step_url(wizard, 4)
    assert TenantUser.objects.get().name == "Mia"


def test_continue_on_the_tenant_step_keeps_typed_fields_with_their_errors(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    response = staff.post(
        step_url(wizard, 3),
        {"action": "next", "t-name": "Mia Muster", "t-email": "not-mail", "token": uuid.uuid4()},
        **fragment("step-body"),
    )
    assert 'value="Mia Muster"' in html(response) and 'value="not-mail"' in html(response)
    assert not TenantUser.objects.exists()


def test_step_three_buttons_send_the_tenant_form(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    page = html(staff.get(step_url(wizard, 3)))
    assert re.search(r'<button[^>]*form="tenant-form"[^>]*value="next"', page)


def test_choosing_an_existing_building_hides_the_new_buildings_fields(staff):
    home = building("Lindenhof")
    wizard = start(staff)
    page = html(
        staff.get(
            step_url(wizard, 1) + f"?pick-building={home.pk}&u-name=Flat+9",
            **fragment("step-body"),
        )
    )
    assert '<div id="new-building" hidden>' in page
    assert 'value="Flat 9"' in page  # the unit typed so far survives the change
    assert f'<option value="{home.pk}" selected>' in page
    blank = html(staff.get(step_url(wizard, 1)))
    assert '<div id="new-building">' in blank


def test_reopening_step_one_shows_the_building_chosen_not_a_new_one(staff):
    wizard = start(staff)
    staff.post(step_url(wizard, 1), {**SPACE, "token": uuid.uuid4()})
    wizard.refresh_from_db()
    page = html(staff.get(step_url(wizard, 1)))
    assert f'<option value="{wizard.building_id}" selected>' in page
    assert '<div id="new-building" hidden>' in page
    # Saved again with it chosen, it is still this wizard's own building.
    staff.post(step_url(wizard, 1), {**SPACE, "pick-building": wizard.building_id,
                                     "token": uuid.uuid4()})  # fmt: skip
    wizard.refresh_from_db()
    assert wizard.building_is_new


def test_each_empty_required_field_gets_one_message(staff):
    wizard = start(staff)
    response = staff.post(
        step_url(wizard, 1),
        {**SPACE, "b-address_line_one": "", "b-city": "", "token": uuid.uuid4()},
        **fragment("step-body"),
    )
    page = html(response)
    for field in ("address_line_one", "city"):
        errors = re.search(rf'id="id_b-{field}_errors">(.*?)</ul>', page, re.S).group(1)
        assert errors.count("<li>") == 1, errors


def test_tenant_parts_have_one_heading_each(staff):
    wizard = walk_to_invite(staff)
    page = html(staff.get(step_url(wizard, 3)))
    assert page.count(">Meters<") == 1 and "<legend" not in page.split("section-meter")[1]


def test_back_and_continue_come_after_the_invite_preview_and_send(staff):
    from onboarding.models import Invite

    wizard = walk_to_invite(staff)
    staff.post(step_url(wizard, 4), {"action": "invite", "i-email": "mia@example.org",
                                     "i-how": "portal", "token": uuid.uuid4()})  # fmt: skip
    Invite.objects.update(invite_link="https://zf.example/invite/abc")
    page = html(staff.get(step_url(wizard, 4)))
    assert page.index('<pre class="mail">') < page.index("Send the e-mail")
    assert page.index("Send the e-mail") < page.index('value="back"')
    assert page.index("Send the e-mail") < page.index('value="next"')


def test_done_page_refers_to_no_platforms_above(staff):
    wizard = walk_to_invite(staff)
    staff.post(step_url(wizard, 4), {"action": "invite", "i-email": "mia@example.org",
                                     "i-how": "platform", "token": uuid.uuid4()})  # fmt: skip
    staff.post(step_url(wizard, 4), {"action": "next", "token": uuid.uuid4()})
    ProviderConnection.objects.create(provider="zaehlerfreunde", status="disconnected")
    page = html(staff.get(step_url(wizard, 5)))
    assert "paused: not connected" in page
    assert "above" not in page
