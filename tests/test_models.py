"""Validation a utility expects of its data."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from onboarding.models import ApiCall, Device, Meter, Space, TenantUser, Vehicle
from onboarding.sync.tasks import prune_api_calls
from onboarding.validators import validate_obis_code

from .factories import building, unit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["1.8.0", "1-0:1.8.0*255", "1-0:2.8.1", "0-0:96.1.0*255"])
def test_obis_codes_accepted(code):
    validate_obis_code(code)


@pytest.mark.parametrize("code", ["", "kWh", "1.8", "1-0:1.8.0*", "A-0:1.8.0"])
def test_obis_codes_refused(code):
    with pytest.raises(ValidationError, match="not an OBIS code"):
        validate_obis_code(code)


def test_building_needs_address_and_valid_postcode():
    with pytest.raises(ValidationError) as error:
        Space(name="B", category="APARTMENT_BUILDING", postcode="80A4").full_clean()
    assert set(error.value.message_dict) >= {"address_line_one", "city", "postcode"}


def test_unit_inherits_the_building_address():
    flat = unit(building(), "Flat 1")
    assert flat.address()["city"] == "Zürich"


def test_external_device_id_unique_and_email_checked():
    home = building()
    Device.objects.create(space=home, name="A", external_device_id="CH1")
    with pytest.raises(ValidationError, match="already has this external device id"):
        Device(space=home, name="B", external_device_id="CH1").full_clean()
    Device(space=home, name="C", external_device_id="").full_clean()  # blank is fine
    with pytest.raises(ValidationError, match="email"):
        TenantUser(unit=home, name="X", email="not-an-email").full_clean()


@pytest.mark.parametrize(
    ("vin", "ok"),
    [("WVWZZZ1JZXW000001", True), ("WVWZZZ1JZXW00000", False), ("WVWZZZ1JZXW00000O", False),
     ("wvwzzz1jzxw000001", False), ("WVWZZZIJZXW000001", False)],
)  # fmt: skip
def test_vin(vin, ok):
    tenant = TenantUser.objects.create(unit=building(), name="T", email="t@example.org")
    vehicle = Vehicle(tenant=tenant, brand="VW", model="ID.3", vin=vin)
    if ok:
        vehicle.full_clean()
    else:
        with pytest.raises(ValidationError, match="17 characters"):
            vehicle.full_clean()


def test_meter_coordinates_in_range():
    tenant = TenantUser.objects.create(unit=building(), name="T", email="t@example.org")
    Meter(tenant=tenant, meter_point_id="CH1", latitude="47.37", longitude="8.54").full_clean()
    with pytest.raises(ValidationError) as error:
        Meter(tenant=tenant, meter_point_id="CH2", latitude=91, longitude=-181).full_clean()
    assert set(error.value.message_dict) == {"latitude", "longitude"}


def test_api_calls_older_than_the_retention_are_pruned(settings):
    settings.API_CALL_RETENTION_DAYS = 30
    now = timezone.now()
    for age in (1, 29, 31, 90):
        ApiCall.objects.create(started_at=now - timedelta(days=age), provider="zaehlerfreunde",
                               method="GET", path="/spaces", status=200, duration_ms=5)  # fmt: skip
    assert prune_api_calls() == 2
    assert ApiCall.objects.count() == 2


def test_our_choices_are_values_zaehlerfreunde_accepts():
    # The models' choices are sent to Zählerfreunde as they are: a new choice must be one
    # its spec knows, or every object using it would fail there.
    from onboarding.models import DeviceType, Medium, SpaceCategory
    from providers.zaehlerfreunde import client

    assert set(SpaceCategory.values) <= set(client.SPACE_CATEGORIES)
    assert set(DeviceType.values) <= set(client.DEVICE_TYPES)
    assert set(Medium.values) <= set(client.DEVICE_MEDIA)
