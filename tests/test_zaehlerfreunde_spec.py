"""Every call our Zählerfreunde client and handlers make, and every answer the sandbox
gives, checked against the platform's public OpenAPI spec (tests/zaehlerfreunde_spec.py),
over real HTTP. The bodies are the ones the product builds: the sync handlers' payloads
from our models, the readings destination's batches."""

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from onboarding.models import Device, Invite, Space
from onboarding.readings.destinations import OutboxState
from onboarding.readings.models import Reading
from onboarding.readings.units import stored_unit
from providers.zaehlerfreunde import client as client_module
from providers.zaehlerfreunde import readings as readings_module
from providers.zaehlerfreunde.client import ZaehlerfreundeClient
from providers.zaehlerfreunde.readings import DESTINATION
from providers.zaehlerfreunde.sandbox import models as zf
from providers.zaehlerfreunde.sandbox import validation
from providers.zaehlerfreunde.sandbox.roles import VIEWER_ROLE_ID
from providers.zaehlerfreunde.sync import DeviceHandler, InviteHandler, SpaceHandler

from .zaehlerfreunde_spec import Recorder, operation, spec

pytestmark = pytest.mark.django_db(transaction=True)

# What the product calls (client.py); each must be exercised below, and be in the spec.
OPERATIONS_WE_USE = {
    "POST /auth/token",
    "GET /spaces",
    "POST /spaces",
    "PUT /spaces/{spaceId}",
    "DELETE /spaces/{spaceId}",
    "GET /spaces/{spaceId}/devices",
    "POST /spaces/{spaceId}/devices",
    "POST /spaces/{spaceId}/devices/{deviceId}/details",
    "POST /spaces/{spaceId}/devices/{deviceId}",
    "DELETE /spaces/{spaceId}/devices/{deviceId}",
    "DELETE /devices/{deviceId}",
    "POST /devices/readings",
    "POST /spaces/{spaceId}/invites",
    "GET /spaces/{spaceId}/users",
    "POST /spaces/{spaceId}/users/{userId}",
    "DELETE /spaces/{spaceId}/users/{userId}",
    "DELETE /spaces/{spaceId}/users",
    "GET /access-roles",
}


def test_the_operations_we_use_are_the_specs():
    for call in OPERATIONS_WE_USE:
        method, template = call.split(" ", 1)
        assert template in spec()["paths"] and operation(method, template)[0] == template


def reading(obis: str, minute: int, value: float, unit: str) -> Reading:
    at = datetime(2026, 3, 1, 12, minute, tzinfo=UTC)
    return Reading(obis=obis, timestamp=at, value=value, unit=unit)


def test_every_exchange_of_a_tenants_life_fits_the_spec(sandbox, live_server):
    recorder = Recorder()
    base = f"{live_server.url}/sandbox/zaehlerfreunde/partner"
    client = ZaehlerfreundeClient(
        base, "portal-sandbox", "sandbox-secret", timeout=(5, 10), session=recorder.session
    )
    spaces, devices, invites = SpaceHandler(), DeviceHandler(), InviteHandler()
    client.check()

    # A building and two flats, as the outbox sends them (create leaves nulls out).
    home = Space.objects.create(
        name="Lindenhof", category="APARTMENT_BUILDING", address_line_one="Lindenstrasse 5",
        postcode="8004", city="Zürich",
    )  # fmt: skip
    flat = Space.objects.create(
        name="Flat 1", parent=home, category="FLAT", address_line_two="c/o Muster",
        is_participating_in_ltt_project=True,
    )  # fmt: skip
    other = Space.objects.create(name="Flat 2", parent=home, category="FLAT")
    home_id = spaces.create(client, home, spaces.payload(home, None), None)
    flat_id = spaces.create(client, flat, spaces.payload(flat, home_id), home_id)
    other_id = spaces.create(client, other, spaces.payload(other, home_id), home_id)
    assert spaces.find_existing(client, flat, spaces.payload(flat, home_id), home_id) == flat_id

    # A partial update with the nulls that clear (the second line, here).
    flat.address_line_two = ""
    spaces.update(client, flat_id, spaces.payload(flat, home_id), home_id)
    spaces.update(client, home_id, spaces.payload(home, None), None)

    # Devices: one by external id, one without; found again, changed, moved.
    meter = Device.objects.create(
        space=flat, name="Meter 1", is_main_device=True, external_device_id="CH-1",
        metering_location_id="CH1000000000000000000000000000001", serial_number="S-1",
    )  # fmt: skip
    plug = Device.objects.create(space=flat, name="Plug", device_type="SMART_PLUG")
    meter_id = devices.create(client, meter, devices.payload(meter, flat_id), flat_id)
    plug_id = devices.create(client, plug, devices.payload(plug, flat_id), flat_id)
    assert devices.find_existing(client, plug, devices.payload(plug, flat_id), flat_id) == plug_id
    meter.serial_number = ""
    devices.update(client, meter_id, devices.payload(meter, flat_id), flat_id)

    # Readings as the forwarding sends them, by external id and by their id.
    batch = [reading("1-0:1.8.0*255", m, 100.0 + m, "kWh") for m in range(3)]
    batch.append(reading("1-0:1.7.0*255", 0, 0.5, "kW"))
    DESTINATION.send(client, None, meter, batch, OutboxState(remote_id=meter_id))
    DESTINATION.send(client, None, plug, batch[:1], OutboxState(remote_id=plug_id))
    assert devices.find_existing(client, meter, devices.payload(meter, flat_id), flat_id)
    devices.move(client, plug_id, flat_id, other_id, obj=plug)

    # An invite, accepted; the tenant is found as a user of the flat.
    invite = Invite.objects.create(space=flat, email="mieterin@example.ch")
    invites.create(client, invite, invites.payload(invite, flat_id), flat_id)
    invite.refresh_from_db()
    sandbox.http.post(
        f"{sandbox.control}/invites/{invite.invite_link.rsplit('/', 1)[1]}/accept", timeout=10
    ).raise_for_status()
    user_id = invites.find_existing(client, invite, invites.payload(invite, flat_id), flat_id)
    user_id = user_id.removeprefix("user:")
    roles = client.list_access_roles()
    assert VIEWER_ROLE_ID in {r["id"] for r in roles}
    client.add_space_user(other_id, user_id, VIEWER_ROLE_ID)
    client.remove_space_user(other_id, user_id)
    client.remove_all_space_users(flat_id)

    # Deleted bottom-up, as the outbox does.
    devices.delete(client, meter_id)
    client.unlink_device(other_id, plug_id)
    for remote_id in (flat_id, other_id, home_id):
        spaces.delete(client, remote_id)

    base_path = urlsplit(base).path
    assert recorder.operations(base_path) == OPERATIONS_WE_USE
    found = recorder.problems(base_path)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(("obis_format", "prefix"), [("short", ""), ("full", "1-1:")])
def test_readings_go_under_the_specs_codes_and_only_those(
    sandbox, live_server, settings, obis_format, prefix
):
    """The spec lists the OBIS codes it accepts (NewReading.obisCode); ours are sent in
    its form, and what it lists no code for stays with us."""
    settings.ZAEHLERFREUNDE_OBIS_FORMAT = obis_format
    base = f"{live_server.url}/sandbox/zaehlerfreunde/partner"
    client = ZaehlerfreundeClient(base, "portal-sandbox", "sandbox-secret", timeout=(5, 10))
    space_id = client.create_space(
        {"name": "Haus", "category": "HOUSEHOLD", "addressLineOne": "Weg 1", "postcode": "8004",
         "city": "Zürich"}
    )  # fmt: skip
    meter_id = client.create_device(
        space_id, {"deviceName": "Meter", "isMainDevice": True, "deviceType": "SMART_METER",
                   "deviceMedium": "ELECTRICITY"}
    )  # fmt: skip
    theirs = {  # our code → the code Zählerfreunde holds it under (None: not sent)
        "1-0:1.8.0*255": f"{prefix}1.8.0",
        "1-0:2.29.0*255": f"{prefix}2.29.0",
        "1-1:1.9.0": f"{prefix}1.9.0",
        "6-0:1.0.0*255": "6-1:1.0.0",  # heat, gas and water: the spec's full form only
        "7-0:3.1.0*255": "7-1:3.1.0",
        "8-0:1.0.0*255": "8-1:1.0.0",
        "1-0:1.7.0*255": None,  # power: the spec lists no power code
        "1-0:1.8.1*255": None,  # a tariff register
        "1-0:1.8.0*01": None,  # a past billing period's value
        "1-2:1.8.0*255": None,  # another channel
        "1-65:1.29.0*255": None,  # our own code (Climkit's ZEV split)
    }
    batch = [reading(code, i, 10.0 + i, stored_unit(code)) for i, code in enumerate(theirs)]
    meter = Device(name="Meter", external_device_id="")
    DESTINATION.send(client, None, meter, batch, OutboxState(remote_id=meter_id))

    held = {(r.obis_code, r.value) for r in zf.Reading.objects.all()}
    expected = {(theirs[r.obis], r.value) for r in batch if theirs[r.obis]}
    assert held == expected and len(expected) == 6


def listed_obis_codes() -> set[str]:
    """NewReading.obisCode's "Accepted Obis Codes", read from the spec's own text:
    `<li>1-1:1.8.0 oder 1.8.0 : Zählerstand …</li>`, `<li>6-1:1.0.0 : Wärme …</li>`."""
    text = spec()["components"]["schemas"]["NewReading"]["properties"]["obisCode"]["description"]
    items = re.findall(r"<li>(.*?) : ", text)
    return {code.strip() for item in items for code in item.split(" oder ")}


def test_our_enums_and_obis_codes_are_the_specs():
    schemas = spec()["components"]["schemas"]
    device = schemas["NewDevice"]["properties"]
    for ours, theirs in (
        (client_module.SPACE_CATEGORIES, schemas["NewSpace"]["properties"]["category"]),
        (client_module.DEVICE_TYPES, device["deviceType"]),
        (client_module.DEVICE_MEDIA, device["deviceMedium"]),
        (validation.SPACE_CATEGORIES, schemas["NewSpace"]["properties"]["category"]),
        (validation.DEVICE_TYPES, device["deviceType"]),
        (validation.DEVICE_MEDIA, device["deviceMedium"]),
        (validation.READING_STATUSES, schemas["NewReading"]["properties"]["status"]),
    ):
        assert list(ours) == theirs["enum"]
    listed = listed_obis_codes()
    assert len(listed) == 21 and "1-1:1.8.0" in listed and "8-1:1.0.0" in listed
    assert listed == validation.ACCEPTED_OBIS
    sent = {*readings_module.ELECTRICITY, *(f"1-1:{c}" for c in readings_module.ELECTRICITY)}
    assert sent | set(readings_module.OTHER_MEDIA.values()) <= listed
