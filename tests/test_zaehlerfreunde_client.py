"""The bare Zählerfreunde client (no Django in it) against the sandbox over HTTP."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from providers.errors import AuthError, NotFoundError, PermanentError, TransientError
from providers.http import CallRecord
from providers.zaehlerfreunde.client import ZaehlerfreundeClient

pytestmark = pytest.mark.django_db(transaction=True)
BUILDING = {
    "name": "Lindenhof",
    "category": "APARTMENT_BUILDING",
    "addressLineOne": "Lindenstrasse 5",
    "postcode": "8004",
    "city": "Zürich",
}


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def client(sandbox, calls) -> ZaehlerfreundeClient:
    return ZaehlerfreundeClient(
        f"{sandbox.base}/sandbox/zaehlerfreunde/partner",
        "portal-sandbox",
        "sandbox-secret",
        timeout=(2, 2),
        on_call=calls.append,
    )


def test_spaces_devices_invites_and_listing_across_pages(client, sandbox):
    building = client.create_space(BUILDING)
    units = [
        client.create_space({**BUILDING, "name": f"Flat {i}", "category": "FLAT",
                             "parentSpaceId": building})
        for i in range(105)
    ]  # fmt: skip
    listed = list(client.list_spaces())  # 106 spaces: two pages of 100
    assert len(listed) == 106 and {s["id"] for s in listed} == {building, *units}

    device = client.create_device(units[0], {"deviceName": "Meter", "isMainDevice": True,
                                             "deviceType": "SMART_METER",
                                             "deviceMedium": "ELECTRICITY",
                                             "externalDeviceId": "CH-1"})  # fmt: skip
    assert [d["id"] for d in client.list_devices(units[0])] == [device]
    link = client.create_invite(units[0], {"sendInviteEmail": True, "userEmail": "a@example.org"})
    assert link.startswith("http") and sandbox.count("emails") == 1

    client.update_space(building, {**BUILDING, "city": "Winterthur"})
    assert next(s for s in client.list_spaces() if s["id"] == building)["city"] == "Winterthur"
    client.delete_device(device)
    with pytest.raises(NotFoundError):
        client.delete_device(device)


def test_readings_timestamps_in_the_configured_unit(client, sandbox, calls):
    space = client.create_space(BUILDING)
    client.create_device(space, {"deviceName": "Meter", "isMainDevice": True,
                                 "deviceType": "SMART_METER", "deviceMedium": "ELECTRICITY",
                                 "externalDeviceId": "CH-9"})  # fmt: skip
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def send(obis: str = "1.8.0", value: float = 10.5) -> None:
        reading = {"obisCode": obis, "timestamp": at, "value": value}
        client.post_readings([{"externalDeviceId": "CH-9", "readings": [reading]}])

    send()
    assert '"timestamp": 1793534400' in calls[-1].request_body
    # The platform reads one unit: milliseconds sent to one that reads seconds are refused.
    client.timestamp_unit = "milliseconds"
    with pytest.raises(PermanentError, match="Timestamp"):
        send()
    assert '"timestamp": 1793534400000' in calls[-1].request_body
    # Where it reads milliseconds, they arrive as the same instant (one reading, replaced).
    sandbox.http.post(
        f"{sandbox.control}/options", json={"timestamp_unit": "milliseconds"}, timeout=10
    ).raise_for_status()
    send(value=11.0)
    held = sandbox.state()["devices"][0]
    assert held["readings"] == 1
    with pytest.raises(PermanentError, match="ObisCode"):
        send("kWh")


def test_errors_are_typed_with_the_platforms_reason(client, sandbox):
    with pytest.raises(PermanentError) as refused:
        client.create_space({**BUILDING, "category": "CASTLE"})
    assert refused.value.status == 400 and "Category" in refused.value.message

    sandbox.fault("rate_limit", count=1, retry_after=7)
    with pytest.raises(TransientError) as limited:
        client.create_space(BUILDING)
    assert limited.value.retry_after == 7 and not limited.value.request_may_have_arrived

    sandbox.fault("error", count=1, status=502)
    with pytest.raises(TransientError) as failed:
        client.create_space(BUILDING)
    assert failed.value.status == 502 and failed.value.request_may_have_arrived

    sandbox.fault("timeout", count=1, delay=3)
    with pytest.raises(TransientError, match="ReadTimeout"):
        client.create_space(BUILDING)


def test_token_is_cached_renewed_after_expiry_and_wrong_secret_is_an_auth_error(
    client, sandbox, calls
):
    client.create_space(BUILDING)
    client.create_space({**BUILDING, "name": "Second"})
    assert [c.path for c in calls].count("/auth/token") == 1
    sandbox.expire_tokens()
    client.create_space({**BUILDING, "name": "Third"})
    assert [c.path for c in calls].count("/auth/token") == 2
    assert all("sandbox-secret" not in c.request_body for c in calls)

    client.client_secret = "wrong"
    client.tokens = type(client.tokens)()
    with pytest.raises(AuthError):
        client.create_space(BUILDING)


def test_connection_refused_is_transient_and_known_not_to_have_arrived():
    dead = ZaehlerfreundeClient("http://127.0.0.1:1", "id", "secret", timeout=(1, 1))
    with pytest.raises(TransientError) as refused:
        dead.create_space(BUILDING)
    assert refused.value.request_may_have_arrived is False


# --- issue 6: the spec's partial updates, deletes, device moves, users ------------------

UNIT = {**BUILDING, "name": "Flat 1", "category": "FLAT", "addressLineTwo": "1st floor"}
METER = {"deviceName": "Meter", "isMainDevice": True, "deviceType": "SMART_METER",
         "deviceMedium": "ELECTRICITY"}  # fmt: skip


def space_in_state(sandbox, space_id: str) -> dict:
    return next(s for s in sandbox.state()["spaces"] if s["id"] == space_id)


def test_update_space_sends_only_what_changes_and_null_clears(client, sandbox):
    building = client.create_space(BUILDING)
    unit = client.create_space({**UNIT, "parentSpaceId": building})
    client.update_space(unit, {"name": "Flat 1 (attic)"})
    after = space_in_state(sandbox, unit)
    assert after["name"] == "Flat 1 (attic)"
    assert (after["addressLineTwo"], after["parentSpaceId"]) == ("1st floor", building)

    client.update_space(unit, {"addressLineTwo": None, "parentSpaceId": None,
                               "category": "SINGLE_FAMILY_HOME"})  # fmt: skip
    after = space_in_state(sandbox, unit)
    assert after["addressLineTwo"] is None and after["parentSpaceId"] is None


def test_delete_space_refuses_while_units_exist_and_takes_its_devices(client, sandbox):
    building = client.create_space(BUILDING)
    unit = client.create_space({**UNIT, "parentSpaceId": building})
    client.create_device(unit, {**METER, "externalDeviceId": "CH-1"})
    with pytest.raises(PermanentError) as refused:
        client.delete_space(building)
    assert refused.value.status == 409 and "still has 1 sub-space" in refused.value.message
    client.delete_space(unit)
    client.delete_space(building)
    counts = sandbox.state()["counts"]
    assert (counts["spaces"], counts["devices"]) == (0, 0)
    with pytest.raises(NotFoundError):
        client.delete_space(building)


def test_readings_in_the_night_the_clocks_go_back_are_distinct_epoch_seconds(
    client, sandbox, calls
):
    """02:30 comes twice in Zurich on 2026-10-25 (summer time, then winter time): two
    readings, an hour apart, whatever zone their datetimes are in; a naive one is refused
    (its epoch would depend on the host's zone)."""
    space = client.create_space(BUILDING)
    client.create_device(space, {"deviceName": "Meter", "isMainDevice": True,
                                 "deviceType": "SMART_METER", "deviceMedium": "ELECTRICITY",
                                 "externalDeviceId": "CH-9"})  # fmt: skip
    zurich = ZoneInfo("Europe/Zurich")
    summer = datetime(2026, 10, 25, 2, 30, tzinfo=zurich)  # 00:30 UTC
    winter = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=zurich)  # 01:30 UTC
    assert winter.astimezone(UTC).hour == 1
    readings = [{"obisCode": "1.8.0", "timestamp": at, "value": v}
                for v, at in ((1.0, summer), (2.0, winter.astimezone(UTC)))]  # fmt: skip
    client.post_readings([{"externalDeviceId": "CH-9", "readings": readings}])
    sent = json.loads(calls[-1].request_body)[0]["readings"]
    assert [r["timestamp"] for r in sent] == [1792888200, 1792891800]
    assert sandbox.state()["readings_count"] == 2

    before = len(calls)
    with pytest.raises(ValueError, match="timezone-aware"):
        naive = [{"obisCode": "1.8.0", "timestamp": datetime(2026, 10, 25, 2, 30), "value": 3}]
        client.post_readings([{"externalDeviceId": "CH-9", "readings": naive}])
    assert len(calls) == before  # nothing sent


def test_device_details_link_and_unlink_keep_id_and_readings(client, sandbox):
    flat_a = client.create_space(UNIT)
    flat_b = client.create_space({**UNIT, "name": "Flat 2"})
    device = client.create_device(flat_a, {**METER, "externalDeviceId": "CH-7",
                                           "meteringLocationId": "DE0007",
                                           "serialNumber": "1ESY7"})  # fmt: skip
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    client.post_readings([{"deviceId": device, "readings": [
        {"obisCode": "1.8.0", "timestamp": at, "value": 10.5}]}])  # fmt: skip

    client.update_device_details(flat_a, device, {"deviceName": "Flat 1 power",
                                                  "meteringLocationId": "DE0008"})  # fmt: skip
    listed = next(client.list_devices(flat_a))
    assert listed["name"] == "Flat 1 power"
    assert {"label": "meteringLocationId", "value": "DE0008"} in listed["metaData"]

    client.link_device(flat_b, device, {"isMainDevice": True, "excludedFromCost": False})
    client.unlink_device(flat_a, device)
    assert list(client.list_devices(flat_a)) == []
    moved = list(client.list_devices(flat_b))
    assert [d["id"] for d in moved] == [device] and moved[0]["isMainDevice"] is True
    in_state = next(d for d in sandbox.state()["devices"] if d["id"] == device)
    assert in_state["readings"] == 1 and in_state["serialNumber"] == "1ESY7"
    with pytest.raises(NotFoundError):
        client.unlink_device(flat_a, device)  # a repeated unlink: "already done"
    client.link_device(flat_a, device)  # without a body
    assert [d["isMainDevice"] for d in client.list_devices(flat_a)] == [False]


def test_space_users_after_an_accepted_invite_and_their_removal(client, sandbox):
    roles = client.list_access_roles()
    assert len(roles) == 3 and all({"id", "name", "permissionIds"} <= set(r) for r in roles)
    viewer = next(r["id"] for r in roles if r["permissionIds"] == ["VIEW"])
    unit = client.create_space(UNIT)
    link = client.create_invite(
        unit, {"sendInviteEmail": False, "userEmail": "mia@example.org", "accessRoleId": viewer}
    )
    assert list(client.list_space_users(unit)) == []
    token = link.rsplit("/", 1)[1]
    accepted = sandbox.http.post(
        f"{sandbox.control}/invites/{token}/accept", json={"name": "Mia"}, timeout=10
    )
    assert accepted.status_code == 200, accepted.text

    users = list(client.list_space_users(unit))
    assert [(u["name"], u["email"]) for u in users] == [("Mia", "mia@example.org")]
    user_id = users[0]["id"]
    assert "|" in user_id  # an Auth0-style id: the client must percent-encode it
    client.remove_space_user(unit, user_id)
    assert list(client.list_space_users(unit)) == []
    with pytest.raises(NotFoundError):
        client.remove_space_user(unit, user_id)
    client.add_space_user(unit, user_id, viewer)
    assert [u["id"] for u in client.list_space_users(unit)] == [user_id]
    client.remove_all_space_users(unit)
    assert list(client.list_space_users(unit)) == []


# --- answers that are not what the spec promises ----------------------------------------


def glitch(sandbox, mode: str, **options) -> None:
    answer = sandbox.http.post(
        f"{sandbox.control}/glitches", json={"mode": mode, "count": 1, **options}, timeout=10
    )
    answer.raise_for_status()


def test_a_maintenance_page_is_transient_and_quotes_the_page(client, sandbox, calls):
    sandbox.fault("maintenance", count=1)  # 200 text/html; nothing processed
    with pytest.raises(TransientError) as page:
        client.create_space(BUILDING)
    message = page.value.message
    assert "POST /spaces answered 200 (text/html" in message and "spaceId" in message
    # Its first words as a person reads them, not its markup.
    assert "Maintenance We'll be back soon Scheduled maintenance" in message
    assert "<h1>" not in message and sandbox.count("spaces") == 0
    # A page comes from in front of the API: the create may simply be sent again.
    assert page.value.request_may_have_arrived is False
    assert calls[-1].status == 200  # recorded like any call

    # Also where the spec promises no body: a page is never the API's answer.
    space = client.create_space(BUILDING)
    device = client.create_device(space, METER)
    sandbox.fault("maintenance", count=1)
    with pytest.raises(TransientError, match="back soon"):
        client.delete_device(device)
    assert sandbox.count("devices") == 1


@pytest.mark.parametrize(
    ("mode", "call", "promised"),
    [
        ("empty_object", lambda c, s: c.create_space(BUILDING), "not a JSON object with spaceId"),
        ("list_body", lambda c, s: c.create_space(BUILDING), "not a JSON object with spaceId"),
        ("empty_object", lambda c, s: c.create_device(s, METER), "deviceId"),
        (
            "empty_object",
            lambda c, s: c.create_invite(s, {"sendInviteEmail": False, "userEmail": "a@b.ch"}),
            "inviteLink",
        ),  # fmt: skip
        ("list_body", lambda c, s: list(c.list_spaces()), "with spaces and totalNumPages"),
        ("empty_object", lambda c, s: list(c.list_devices(s)), "with devices and totalNumPages"),
        ("list_body", lambda c, s: list(c.list_space_users(s)), "with users and totalNumPages"),
        ("list_body", lambda c, s: c.update_space(s, {"name": "x"}), "not a JSON object:"),
        ("empty_object", lambda c, s: c.list_access_roles(), "a list of accessRoles"),
    ],
)
def test_a_body_without_what_the_spec_promises_is_transient(client, sandbox, mode, call, promised):
    space = client.create_space(BUILDING)
    glitch(sandbox, mode)
    with pytest.raises(TransientError) as unexpected:
        call(client, space)
    assert promised in unexpected.value.message
    assert ("{}" if mode == "empty_object" else "[]") in unexpected.value.message
    assert unexpected.value.request_may_have_arrived  # the API answered: it may have acted


def test_a_token_answer_without_access_token_is_transient(client, sandbox):
    glitch(sandbox, "empty_object", path="/auth/token")
    with pytest.raises(TransientError, match="accessToken"):
        client.create_space(BUILDING)
    assert client.create_space(BUILDING)  # the next token is fine


def test_errors_show_the_problem_detail_and_every_field_error(client, sandbox):
    # The sandbox's postcode rule (off by default: the spec's postcode is any string)
    # answers with a problem detail and a field error.
    sandbox.http.post(
        f"{sandbox.control}/options", json={"dach_postcodes_only": True}, timeout=10
    ).raise_for_status()
    with pytest.raises(PermanentError) as postcode:
        client.create_space({**BUILDING, "postcode": "80A"})
    assert postcode.value.message == (
        "Bad Request: The postcode must have 4 or 5 digits. "
        "(Postcode: '80A' is not a valid postcode.)"
    )
    with pytest.raises(PermanentError) as invalid:
        client.create_space({"name": "x", "category": "CASTLE"})
    message = invalid.value.message
    assert message.startswith("One or more validation errors occurred. (")
    assert "Category: 'CASTLE' is not a valid category." in message
    assert "City: The City field is required." in message

    space = client.create_space(BUILDING)
    client.create_device(space, {**METER, "externalDeviceId": "CH-1"})
    with pytest.raises(PermanentError) as conflict:
        client.create_device(space, {**METER, "externalDeviceId": "CH-1"})
    assert conflict.value.message == (
        "Conflict: A device with externalDeviceId 'CH-1' already exists. "
        "(ExternalDeviceId: 'CH-1' is already used by another device.)"
    )


def test_a_refused_token_is_an_auth_error_for_400_401_and_403(client, sandbox):
    for status in (400, 403):
        sandbox.fault("error", count=1, status=status, path="/auth/token")
        client.tokens = type(client.tokens)()
        with pytest.raises(AuthError, match="token refused"):
            client.create_space(BUILDING)
        assert sandbox.count("spaces") == 0
