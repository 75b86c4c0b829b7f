"""The smart-me sandbox over real HTTP (pytest-django's live server + requests): the
guide's paths and field names, its three ways in, and the control side."""

import base64
import re
import time
import uuid

import pytest
import requests
from django.conf import settings

from tests.conftest import SandboxControl

pytestmark = pytest.mark.django_db(transaction=True)
VALUE_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def smartme(portal, live_server) -> SandboxControl:
    return SandboxControl(live_server.url, "smartme")


@pytest.fixture
def api(smartme):
    def get(path: str, auth: str | None = None, **kwargs) -> requests.Response:
        if auth is None:
            auth = basic(settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET)
        headers = {"Authorization": auth} if auth else {}
        return requests.get(f"{smartme.root}{path}", headers=headers, timeout=10, **kwargs)

    return get


def token(smartme, path="/api/oauth/token/", **kwargs) -> requests.Response:
    return requests.post(f"{smartme.root}{path}", timeout=10, **kwargs)


def test_the_seeded_account_as_the_guide_and_notes_describe_it(api):
    response = api("/Devices/")  # the guide's sample URL, with its trailing slash
    assert response.status_code == 200
    devices = response.json()
    assert len(devices) == 34 and api("/Devices").json() == devices
    for device in devices:
        uuid.UUID(device["Id"])
        assert isinstance(device["Serial"], int) and isinstance(device["DeviceEnergyType"], int)
        assert VALUE_DATE.match(device["ValueDate"]), device["ValueDate"]
    kinds = {d["DeviceEnergyType"] for d in devices}
    assert {1, 2, 3, 4, 7, 8} <= kinds
    gateway = next(d for d in devices if d["DeviceEnergyType"] == 8)
    assert "CounterReading" not in gateway  # null fields are omitted, not sent as null
    meter = next(d for d in devices if d["DeviceEnergyType"] == 1)
    assert meter["CounterReadingUnit"] == "kWh" and isinstance(meter["CounterReading"], float)

    assert api(f"/Devices/{meter['Id']}").json() == meter
    assert [d["Id"] for d in api("/DevicesByEnergy?meterEnergyType=8").json()] == [gateway["Id"]]
    assert {d["DeviceEnergyType"] for d in api("/DevicesByEnergy?meterEnergyType=2").json()} == {2}

    mbus = api(f"/gateway/mbus/{gateway['Id']}").json()
    assert mbus["Name"] == gateway["Name"] and mbus["SerialNumber"] == gateway["Serial"]
    assert mbus["ReadoutInterval"] == 4 and mbus["State"] == 0
    assert VALUE_DATE.match(mbus["LastSeen"])
    assert len(mbus["Meters"]) == 12
    assert {"Id", "Name", "SecondaryAddress", "State"} <= set(mbus["Meters"][0])
    listed = {d["Id"] for d in devices}
    assert {m["Id"] for m in mbus["Meters"]} <= listed  # the meters are devices too


def test_errors_in_the_platforms_shape(api):
    missing = api("/DevicesByEnergy")
    assert missing.status_code == 400 and missing.json()["Message"] == "The request is invalid."
    assert api("/DevicesByEnergy?meterEnergyType=gas").status_code == 400
    assert api(f"/Devices/{uuid.uuid4()}").status_code == 404
    assert api("/Devices/not-a-guid").status_code == 404
    electricity = api("/DevicesByEnergy?meterEnergyType=1").json()[0]
    not_a_gateway = api(f"/gateway/mbus/{electricity['Id']}")
    assert not_a_gateway.status_code == 404 and "Message" in not_a_gateway.json()


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Basic " + base64.b64encode(b"portal-sandbox:wrong").decode(),
        "Basic not-base64!",
        "ApiKey wrong-key",
        "Bearer made-up",
        "Token abc",
    ],
)
def test_bad_credentials_are_401(api, auth):
    response = api("/Devices", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_api_key_and_both_token_paths(api, smartme):
    assert api("/Devices", auth=f"ApiKey {settings.SANDBOX_SMARTME_API_KEY}").status_code == 200
    client = (settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET)
    # client_secret_basic at the guide's path, client_secret_post at the sample's.
    by_header = token(smartme, data={"grant_type": "client_credentials"}, auth=client)
    by_body = token(
        smartme,
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client[0],
              "client_secret": client[1]},
    )  # fmt: skip
    for response in (by_header, by_body):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert response.headers["Cache-Control"] == "no-store"
        assert api("/Devices", auth=f"Bearer {body['access_token']}").status_code == 200
    assert smartme.state()["counts"]["tokens_valid"] == 2

    smartme.expire_tokens()
    expired = api("/Devices", auth=f"Bearer {by_header.json()['access_token']}")
    assert expired.status_code == 401 and "expired" in expired.json()["Message"]


def test_token_endpoint_refusals_follow_rfc_6749(smartme):
    client = (settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET)
    wrong = token(smartme, data={"grant_type": "client_credentials"}, auth=(client[0], "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = token(smartme, data={"grant_type": "password"}, auth=client)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    as_json = token(smartme, json={"grant_type": "client_credentials"}, auth=client)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert token(smartme, auth=client).status_code == 400
    assert requests.get(f"{smartme.root}/api/oauth/token/", timeout=10).status_code == 405


def test_fault_switches_latency_and_counts(api, smartme):
    smartme.fault("rate_limit", count=1, retry_after=9)
    limited = api("/Devices")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"
    assert "Message" in limited.json()
    smartme.fault("error", count=1, status=503, path="/gateway/mbus")
    assert api("/Devices").status_code == 200  # the path filter spares other calls
    gateway = api("/DevicesByEnergy?meterEnergyType=8").json()[0]["Id"]
    assert api(f"/gateway/mbus/{gateway}").status_code == 503
    assert api(f"/gateway/mbus/{gateway}").status_code == 200
    # Without a path, faults spare the token endpoint.
    smartme.fault("error", count=1, status=500)
    client = (settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET)
    assert token(smartme, data={"grant_type": "client_credentials"}, auth=client).ok
    assert api("/Devices").status_code == 500

    smartme.latency(300)
    started = time.monotonic()
    assert api("/Devices").status_code == 200
    assert time.monotonic() - started >= 0.3
    smartme.latency(None)
    assert smartme.requests_to("GET /Devices") == 4
    assert smartme.requests_to("GET /gateway/mbus/{id}") == 2


def test_control_adds_changes_and_removes_devices(api, smartme):
    gateway = api("/DevicesByEnergy?meterEnergyType=8").json()[0]["Id"]
    added = smartme.http.post(
        f"{smartme.control}/devices",
        json={"Name": "Bachweg 3 W7 Wärme", "DeviceEnergyType": 4, "Serial": 77001234,
              "GatewayId": gateway, "SecondaryAddress": "77001234A2C",
              "CounterReading": 1.5, "CounterReadingUnit": "MWh"},
        timeout=10,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    new_id = added.json()["Id"]
    assert len(api("/Devices").json()) == 35
    assert new_id in {m["Id"] for m in api(f"/gateway/mbus/{gateway}").json()["Meters"]}

    changed = smartme.http.patch(
        f"{smartme.control}/devices/{new_id}",
        json={"Name": "Bachweg 3 W7 Heizung", "CounterReading": 2.25},
        timeout=10,
    )
    assert changed.status_code == 200
    shown = api(f"/Devices/{new_id}").json()
    assert shown["Name"] == "Bachweg 3 W7 Heizung" and shown["CounterReading"] == 2.25
    assert shown["ValueDate"] >= added.json()["ValueDate"]

    invalid = smartme.http.post(
        f"{smartme.control}/devices", json={"Name": "", "DeviceEnergyType": 99}, timeout=10
    )
    assert invalid.status_code == 400
    assert set(invalid.json()["errors"]) == {"Name", "DeviceEnergyType"}

    assert smartme.http.delete(f"{smartme.control}/devices/{new_id}", timeout=10).ok
    assert api(f"/Devices/{new_id}").status_code == 404
    assert smartme.http.delete(f"{smartme.control}/devices/{new_id}", timeout=10).status_code == 404

    # Without the control token or a staff login: refused.
    assert requests.post(f"{smartme.control}/devices", json={}, timeout=10).status_code == 403

    smartme.http.delete(f"{smartme.control}/devices/{gateway}", timeout=10)
    assert len(api("/Devices").json()) == 33
    smartme.reset()
    assert len(api("/Devices").json()) == 34


def test_trainer_page_lists_the_devices_under_their_gateway(api, smartme):
    page = smartme.http.get(smartme.root + "/", timeout=10)
    assert page.status_code == 200
    text = page.text
    assert "Bachweg 3 M-Bus Gateway" in text and "Lindenhof W1.1 Strom" in text
    assert text.index("Bachweg 3 M-Bus Gateway") < text.index("↳ Bachweg 3 W1 Wärme")
    assert settings.SANDBOX_CLIENT_SECRET not in text
    anonymous = requests.get(smartme.root + "/", headers={"Accept": "text/html"}, timeout=10)
    assert "login" in anonymous.url  # sent to the admin login
