"""The bare Zählerfreunde client (no Django in it) against the sandbox over HTTP."""

from datetime import UTC, datetime

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

    def send(obis: str) -> None:
        reading = {"obisCode": obis, "timestamp": at, "value": 10.5}
        client.post_readings([{"externalDeviceId": "CH-9", "readings": [reading]}])

    send("1-0:1.8.0*255")
    assert '"timestamp": 1793534400' in calls[-1].request_body
    client.timestamp_unit = "milliseconds"
    send("1.8.0")
    assert '"timestamp": 1793534400000' in calls[-1].request_body
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
