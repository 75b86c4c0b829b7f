"""The Zählerfreunde sandbox over real HTTP (pytest-django's live server + requests)."""

import re
import threading
import time
from urllib.parse import quote

import pytest
import requests
from django.conf import settings

from providers.zaehlerfreunde.sandbox.roles import MANAGER_ROLE_ID, TENANT_ROLE_ID, VIEWER_ROLE_ID

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "application/problem+json"
BUILDING = {
    "name": "Haus Lindenhof",
    "addressLineOne": "Lindenweg 3",
    "postcode": "8000",
    "city": "Zürich",
    "category": "APARTMENT_BUILDING",
}


class Sandbox:
    def __init__(self, root: str):
        self.root = root.rstrip("/") + "/sandbox/zaehlerfreunde"
        self.api = self.root + "/partner"
        self.control = self.root + "/_sandbox"
        self.token = None
        self.http = requests.Session()  # the control side needs the control token
        self.http.headers["X-Sandbox-Token"] = settings.SANDBOX_CONTROL_TOKEN

    def login(self) -> str:
        response = requests.post(
            f"{self.api}/auth/token",
            json={
                "clientId": settings.SANDBOX_CLIENT_ID,
                "clientSecret": settings.SANDBOX_CLIENT_SECRET,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["accessToken"]
        return self.token

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        if self.token is None:
            self.login()
        kwargs.setdefault("timeout", 10)
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.api}{path}", headers=headers, **kwargs)

    def state(self) -> dict:
        response = self.http.get(f"{self.control}/state", timeout=10)
        assert response.status_code == 200
        return response.json()

    def fault(self, **spec) -> dict:
        response = self.http.post(f"{self.control}/faults", json=spec, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def create_space(self, **fields) -> str:
        response = self.call("POST", "/spaces", json={**BUILDING, **fields})
        assert response.status_code == 200, response.text
        return response.json()["spaceId"]

    def create_device(self, space_id: str, **fields) -> str:
        body = {
            "deviceName": "Hauptzähler",
            "isMainDevice": True,
            "deviceType": "SMART_METER",
            "deviceMedium": "ELECTRICITY",
            **fields,
        }
        response = self.call("POST", f"/spaces/{space_id}/devices", json=body)
        assert response.status_code == 200, response.text
        return response.json()["deviceId"]

    def invite(self, space_id: str, **fields) -> str:
        body = {"sendInviteEmail": False, "userEmail": "mieterin@example.ch", **fields}
        response = self.call("POST", f"/spaces/{space_id}/invites", json=body)
        assert response.status_code == 200, response.text
        return response.json()["inviteLink"]

    def accept(self, link: str, **who) -> requests.Response:
        token = link.rstrip("/").rsplit("/", 1)[1]
        return self.http.post(f"{self.control}/invites/{token}/accept", json=who, timeout=10)

    def devices_of(self, space_id: str) -> list[dict]:
        response = self.call("GET", f"/spaces/{space_id}/devices")
        assert response.status_code == 200, response.text
        return response.json()["devices"]

    def users_of(self, space_id: str, **params) -> dict:
        response = self.call("GET", f"/spaces/{space_id}/users", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def options(self, **values) -> dict:
        response = self.http.post(f"{self.control}/options", json=values, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def glitch(self, **spec) -> dict:
        response = self.http.post(f"{self.control}/glitches", json=spec, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def space(self, space_id: str) -> dict:
        return next(s for s in self.state()["spaces"] if s["id"] == space_id)

    def device(self, device_id: str) -> dict:
        return next(d for d in self.state()["devices"] if d["id"] == device_id)


@pytest.fixture
def sandbox(live_server) -> Sandbox:
    return Sandbox(live_server.url)


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if field is not None:
        assert field in body["errors"], body
    return body


# --- auth -----------------------------------------------------------------------------


def test_token_is_issued_for_the_sandbox_credentials_only(sandbox):
    token = sandbox.login()
    assert len(token) >= 32
    assert sandbox.login() != token  # a new one each time

    wrong = requests.post(
        f"{sandbox.api}/auth/token",
        json={"clientId": settings.SANDBOX_CLIENT_ID, "clientSecret": "nope"},
        timeout=10,
    )
    assert_problem(wrong, 401)
    missing = requests.post(
        f"{sandbox.api}/auth/token", json={"clientId": settings.SANDBOX_CLIENT_ID}, timeout=10
    )
    assert_problem(missing, 400, "ClientSecret")
    bad_json = requests.post(
        f"{sandbox.api}/auth/token",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert_problem(bad_json, 400)
    assert sandbox.state()["requests"]["POST /auth/token"] == 5


def test_missing_unknown_and_expired_tokens_are_refused(sandbox):
    no_token = requests.get(f"{sandbox.api}/spaces", timeout=10)
    assert_problem(no_token, 401)
    assert no_token.headers["WWW-Authenticate"].startswith("Bearer")
    sandbox.token = "made-up"
    assert_problem(sandbox.call("GET", "/spaces"), 401)

    sandbox.login()
    assert sandbox.call("GET", "/spaces").status_code == 200
    expired = sandbox.http.post(f"{sandbox.control}/tokens/expire", timeout=10)
    assert expired.json()["expired"] >= 1
    refused = sandbox.call("POST", "/spaces", json=BUILDING)
    assert "expired" in assert_problem(refused, 401)["detail"]
    assert sandbox.state()["counts"]["spaces"] == 0  # refused means not processed

    sandbox.login()  # a fresh token simply works again
    assert sandbox.call("GET", "/spaces").status_code == 200


# --- spaces ---------------------------------------------------------------------------


def test_building_with_units_and_paging(sandbox):
    building = sandbox.create_space()
    units = [
        sandbox.create_space(
            name=f"Wohnung {n}", category="FLAT", parentSpaceId=building, addressLineTwo=f"{n}. OG"
        )
        for n in (1, 2)
    ]

    first = sandbox.call("GET", "/spaces", params={"page": 0, "pageSize": 2}).json()
    second = sandbox.call("GET", "/spaces", params={"page": 1, "pageSize": 2}).json()
    assert first["totalNumPages"] == second["totalNumPages"] == 2
    listed = first["spaces"] + second["spaces"]
    assert [s["id"] for s in listed] == [building, *units]  # creation order
    # Optional fields without a value are left out, never null (the spec's Space marks
    # none nullable).
    assert "parentSpaceId" not in listed[0] and "addressLineTwo" not in listed[0]
    assert listed[0]["addressLineOne"] == "Lindenweg 3"
    assert {s["parentSpaceId"] for s in listed[1:]} == {building}
    assert listed[2]["addressLineTwo"] == "2. OG"
    assert listed[2]["category"] == "FLAT"

    everything = sandbox.call("GET", "/spaces").json()
    assert len(everything["spaces"]) == 3 and everything["totalNumPages"] == 1
    empty_page = sandbox.call("GET", "/spaces", params={"page": 5, "pageSize": 2}).json()
    assert empty_page["spaces"] == []
    # The spec gives pageSize a minimum (1) and no maximum.
    large = sandbox.call("GET", "/spaces", params={"pageSize": 1000})
    assert large.status_code == 200 and len(large.json()["spaces"]) == 3
    assert_problem(sandbox.call("GET", "/spaces", params={"pageSize": 0}), 400, "PageSize")
    assert_problem(sandbox.call("GET", "/spaces", params={"page": -1}), 400, "Page")
    assert_problem(sandbox.call("GET", "/spaces", params={"page": "x"}), 400, "Page")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "CASTLE"}, "Category"),
        ({"postcode": None}, "Postcode"),
        ({"name": ""}, "Name"),
        ({"parentSpaceId": "5c2f0976-7afc-4d14-a6d5-99d3ae838780"}, "ParentSpaceId"),
        ({"parentSpaceId": "not-a-uuid"}, "ParentSpaceId"),
        ({"isParticipatingInLttProject": "yes"}, "IsParticipatingInLttProject"),
    ],
)
def test_space_validation_names_the_field(sandbox, change, field):
    body = {k: v for k, v in {**BUILDING, **change}.items() if v is not None}
    problem = assert_problem(sandbox.call("POST", "/spaces", json=body), 400, field)
    assert problem["title"] == "One or more validation errors occurred."
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert sandbox.state()["counts"]["spaces"] == 0


def test_bad_category_message_and_bad_json(sandbox):
    problem = assert_problem(
        sandbox.call("POST", "/spaces", json={**BUILDING, "category": "XYZ"}), 400, "Category"
    )
    assert problem["errors"]["Category"] == ["'XYZ' is not a valid category."]
    garbage = sandbox.call(
        "POST", "/spaces", data="[1,", headers={"Content-Type": "application/json"}
    )
    assert_problem(garbage, 400)


def test_a_postcode_is_any_string_unless_the_dach_rule_is_on(sandbox):
    # The spec's postcode is a string: a British one is as good as a Swiss one.
    london = sandbox.create_space(postcode="SW1A 1AA")
    assert sandbox.space(london)["postcode"] == "SW1A 1AA"
    assert sandbox.options(dach_postcodes_only=True)["dach_postcodes_only"] is True
    problem = assert_problem(
        sandbox.call("PUT", f"/spaces/{london}", json={"postcode": "SW1A 1AA"}), 400, "Postcode"
    )
    assert problem["detail"] == "The postcode must have 4 or 5 digits."


def test_postcode_rule_answers_with_a_detail_and_the_field(sandbox):
    sandbox.options(dach_postcodes_only=True)
    problem = assert_problem(
        sandbox.call("POST", "/spaces", json={**BUILDING, "postcode": "80A"}), 400
    )
    assert problem["title"] == "Bad Request"
    assert problem["detail"] == "The postcode must have 4 or 5 digits."
    assert problem["errors"] == {"Postcode": ["'80A' is not a valid postcode."]}
    assert sandbox.state()["counts"]["spaces"] == 0
    german = sandbox.create_space(postcode="10115")
    assert sandbox.space(german)["country"] == "DE"


def test_space_answers_carry_every_field_the_spec_requires(sandbox):
    space = sandbox.create_space(isParticipatingInLttProject=True)
    listed = sandbox.call("GET", "/spaces").json()["spaces"][0]
    required = {"id", "name", "addressLineOne", "postcode", "city", "ownerUserId",
                "category", "categoryIcon", "associatedUsersId", "country",
                "isParticipatingInLttProject"}  # fmt: skip
    assert required <= set(listed) and listed["id"] == space
    assert listed["isParticipatingInLttProject"] is True and listed["associatedUsersId"] == []
    assert listed["country"] == "CH"


def test_update_changes_only_the_fields_sent_and_null_clears(sandbox):
    building = sandbox.create_space()
    unit = sandbox.create_space(
        name="Wohnung 1", category="FLAT", parentSpaceId=building, addressLineTwo="2. OG",
        isParticipatingInLttProject=True,
    )  # fmt: skip

    renamed = sandbox.call("PUT", f"/spaces/{unit}", json={"name": "Whg. 1 links"})
    assert renamed.status_code == 200 and renamed.json() == {"spaceId": unit}  # SpaceId
    after = sandbox.space(unit)
    assert after["name"] == "Whg. 1 links"
    assert (after["addressLineTwo"], after["parentSpaceId"]) == ("2. OG", building)  # kept
    assert (after["city"], after["category"]) == ("Zürich", "FLAT")

    assert sandbox.call("PUT", f"/spaces/{unit}", json={"addressLineTwo": None}).status_code == 200
    after = sandbox.space(unit)
    assert after["addressLineTwo"] is None and after["parentSpaceId"] == building

    # A unit turned into a building: null parent, and a category fitting a building.
    body = {"parentSpaceId": None, "category": "SINGLE_FAMILY_HOME"}
    assert sandbox.call("PUT", f"/spaces/{unit}", json=body).status_code == 200
    after = sandbox.space(unit)
    assert after["parentSpaceId"] is None and after["category"] == "SINGLE_FAMILY_HOME"
    assert after["name"] == "Whg. 1 links"

    moved = sandbox.call("PUT", f"/spaces/{unit}", json={"parentSpaceId": building})
    assert moved.status_code == 200 and sandbox.space(unit)["parentSpaceId"] == building

    # UpdateSpace has no isParticipatingInLttProject: ignored like any unknown property.
    ignored = sandbox.call("PUT", f"/spaces/{unit}", json={"isParticipatingInLttProject": False})
    assert ignored.status_code == 200
    assert sandbox.space(unit)["isParticipatingInLttProject"] is True
    assert sandbox.call("PUT", f"/spaces/{unit}", json={}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "Name"),
        ({"city": None}, "City"),
        ({"name": "  "}, "Name"),
        ({"category": "CASTLE"}, "Category"),
        ({"category": None}, "Category"),
        ({"parentSpaceId": ""}, "ParentSpaceId"),
        ({"parentSpaceId": "5c2f0976-7afc-4d14-a6d5-99d3ae838780"}, "ParentSpaceId"),
        ({"addressLineTwo": 5}, "AddressLineTwo"),
        ([{"name": "x"}], "$"),
    ],
)
def test_update_validates_what_is_sent(sandbox, body, field):
    space = sandbox.create_space(addressLineTwo="Hinterhaus")
    assert_problem(sandbox.call("PUT", f"/spaces/{space}", json=body), 400, field)
    after = sandbox.space(space)
    assert (after["name"], after["addressLineTwo"]) == (BUILDING["name"], "Hinterhaus")


def test_update_refuses_cycles_bad_postcodes_and_unknown_spaces(sandbox):
    building = sandbox.create_space()
    unit = sandbox.create_space(name="Wohnung 1", category="FLAT", parentSpaceId=building)
    cycle = sandbox.call("PUT", f"/spaces/{building}", json={"parentSpaceId": unit})
    assert_problem(cycle, 400, "ParentSpaceId")
    itself = sandbox.call("PUT", f"/spaces/{building}", json={"parentSpaceId": building})
    assert_problem(itself, 400, "ParentSpaceId")
    sandbox.options(dach_postcodes_only=True)
    bad_postcode = sandbox.call("PUT", f"/spaces/{unit}", json={"postcode": "123456"})
    assert assert_problem(bad_postcode, 400, "Postcode")["detail"].startswith("The postcode")
    unknown = "5c2f0976-7afc-4d14-a6d5-99d3ae838780"
    assert_problem(sandbox.call("PUT", f"/spaces/{unknown}", json={"name": "x"}), 404)
    assert sandbox.space(building)["parentSpaceId"] is None
    assert sandbox.space(unit)["postcode"] == "8000"


def test_delete_space_removes_its_devices_but_not_its_units(sandbox):
    building = sandbox.create_space()
    unit = sandbox.create_space(name="Wohnung 1", category="FLAT", parentSpaceId=building)
    other = sandbox.create_space(name="Anderes Haus")
    house_meter = sandbox.create_device(building, externalDeviceId="MELO-HAUS")
    flat_meter = sandbox.create_device(unit, externalDeviceId="MELO-1")
    assert sandbox.call("POST", f"/spaces/{other}/devices/{flat_meter}").status_code == 200
    link = sandbox.invite(unit)

    # A building with a unit is refused: the spec promises no cascade to units.
    refused = assert_problem(sandbox.call("DELETE", f"/spaces/{building}"), 409)
    assert "1 sub-space" in refused["detail"]
    counts = sandbox.state()["counts"]
    assert (counts["spaces"], counts["devices"], counts["invites"]) == (3, 2, 1)

    # Bottom-up: the unit goes with the devices linked to it (also from other spaces,
    # the spec's sentence read literally) and its invites; the building stays.
    assert sandbox.call("DELETE", f"/spaces/{unit}").status_code == 200
    state = sandbox.state()
    assert [s["id"] for s in state["spaces"]] == [building, other]
    assert [d["id"] for d in state["devices"]] == [house_meter]
    assert sandbox.devices_of(other) == []
    assert state["counts"]["invites"] == 0
    gone = requests.get(link, timeout=10)
    assert gone.status_code == 404 and "nicht (mehr) gültig" in gone.text
    assert sandbox.accept(link).status_code == 404

    assert sandbox.call("DELETE", f"/spaces/{building}").status_code == 200
    state = sandbox.state()
    assert [s["id"] for s in state["spaces"]] == [other] and state["devices"] == []
    assert_problem(sandbox.call("DELETE", f"/spaces/{building}"), 404)
    assert_problem(sandbox.call("DELETE", "/spaces/garbage"), 400, "spaceId")


# --- devices --------------------------------------------------------------------------


def test_devices_create_list_conflict_delete(sandbox):
    space = sandbox.create_space()
    main = sandbox.create_device(
        space, externalDeviceId="MELO-1", serialNumber="1ESY123", meteringLocationId="DE0001"
    )
    water = sandbox.create_device(
        space,
        deviceName="Wasser",
        isMainDevice=False,
        deviceType="WATER_METER",
        deviceMedium="WATER",
        conversionFactor=1.5,
    )

    listed = sandbox.call("GET", f"/spaces/{space}/devices").json()
    assert listed["totalNumPages"] == 1
    first, second = listed["devices"]
    assert first["id"] == main and second["id"] == water
    assert first["externalDeviceIds"] == ["MELO-1"] and first["externalDeviceId"] == "MELO-1"
    assert first["status"] == "CONNECTING" and first["isMainDevice"] is True
    assert first["deviceType"] == "SMART_METER" and first["medium"] == "ELECTRICITY"
    assert second["externalDeviceIds"] == [] and second["medium"] == "WATER"
    required = {"id", "name", "status", "deviceType", "isMainDevice", "createdAt", "medium",
                "imageUrl", "ownerUserId", "deviceTypeDescription", "deviceTypeImageUrl",
                "deviceTypeIcon", "provider", "providerName", "providerDescription",
                "providerLogoUrl", "metaData", "latestReadingTime", "firstReadingTime",
                "directions"}  # fmt: skip
    assert required <= set(first)
    # The Device schema has no MeLo or serial number property: they are in metaData.
    assert {"label": "serialNumber", "value": "1ESY123"} in first["metaData"]
    assert sandbox.device(main)["serialNumber"] == "1ESY123"

    duplicate = sandbox.call(
        "POST",
        f"/spaces/{space}/devices",
        json={
            "deviceName": "Zweiter",
            "isMainDevice": False,
            "deviceType": "SMART_METER",
            "deviceMedium": "ELECTRICITY",
            "externalDeviceId": "MELO-1",
        },
    )
    assert "MELO-1" in assert_problem(duplicate, 409)["detail"]

    bad = sandbox.call(
        "POST",
        f"/spaces/{space}/devices",
        json={"deviceName": "X", "deviceType": "TOASTER", "deviceMedium": "ELECTRICITY"},
    )
    problem = assert_problem(bad, 400, "DeviceType")
    assert "IsMainDevice" in problem["errors"]
    unknown = "5c2f0976-7afc-4d14-a6d5-99d3ae838780"
    assert_problem(
        sandbox.call("POST", f"/spaces/{unknown}/devices", json={"deviceName": "X"}), 404
    )
    assert sandbox.state()["counts"]["devices"] == 2

    assert sandbox.call("DELETE", f"/devices/{main}").status_code == 200
    assert_problem(sandbox.call("DELETE", f"/devices/{main}"), 404)
    remaining = sandbox.call("GET", f"/spaces/{space}/devices").json()["devices"]
    assert [d["id"] for d in remaining] == [water]
    # The external id is free again once its device is gone.
    sandbox.create_device(space, externalDeviceId="MELO-1")


def _reading(device_id: str, at: int, value: float) -> list[dict]:
    return [{"deviceId": device_id, "readings": [{"obisCode": "1.8.0", "timestamp": at,
                                                  "value": value}]}]  # fmt: skip


def test_device_details_change_only_what_is_sent(sandbox):
    space = sandbox.create_space()
    device = sandbox.create_device(
        space, externalDeviceId="EXT-1", meteringLocationId="DE0001", serialNumber="1ESY1"
    )
    sandbox.create_device(space, deviceName="Andere", isMainDevice=False, externalDeviceId="EXT-9")
    body = {
        "deviceName": "Wohnung 1 Strom",
        "externalDeviceId": "EXT-2",
        "meteringLocationId": "DE0002",
        # Not in DeviceDetails: ignored, type and medium never change.
        "deviceType": "WATER_METER",
        "deviceMedium": "WATER",
    }
    details = sandbox.call("POST", f"/spaces/{space}/devices/{device}/details", json=body)
    assert details.status_code == 200, details.text
    after = sandbox.device(device)
    assert after["name"] == "Wohnung 1 Strom" and after["externalDeviceIds"] == ["EXT-2"]
    assert (after["meteringLocationId"], after["serialNumber"]) == ("DE0002", "1ESY1")
    assert (after["deviceType"], after["medium"]) == ("SMART_METER", "ELECTRICITY")
    assert after["links"][0]["isMainDevice"] is True

    flag = sandbox.call(
        "POST", f"/spaces/{space}/devices/{device}/details", json={"isMainDevice": False}
    )
    assert flag.status_code == 200
    after = sandbox.device(device)
    assert after["links"][0]["isMainDevice"] is False and after["name"] == "Wohnung 1 Strom"
    cleared = sandbox.call(
        "POST", f"/spaces/{space}/devices/{device}/details", json={"serialNumber": ""}
    )
    assert cleared.status_code == 200 and sandbox.device(device)["serialNumber"] is None
    # The readings follow the new external id.
    batch = [{"externalDeviceId": "EXT-2", "readings": [{"obisCode": "1.8.0",
              "timestamp": 1714635961, "value": 1.0}]}]  # fmt: skip
    assert sandbox.call("POST", "/devices/readings", json=batch).status_code == 200

    path = f"/spaces/{space}/devices/{device}/details"
    assert_problem(sandbox.call("POST", path, json={"deviceName": None}), 400, "DeviceName")
    assert_problem(sandbox.call("POST", path, json={"isMainDevice": "ja"}), 400, "IsMainDevice")
    taken = sandbox.call("POST", path, json={"externalDeviceId": "EXT-9"})
    assert "EXT-9" in assert_problem(taken, 409)["detail"]
    elsewhere = sandbox.create_space(name="Anderes Haus")
    not_there = sandbox.call(
        "POST", f"/spaces/{elsewhere}/devices/{device}/details", json={"deviceName": "x"}
    )
    assert "not linked" in assert_problem(not_there, 404)["detail"]
    unknown = "5c2f0976-7afc-4d14-a6d5-99d3ae838780"
    assert_problem(sandbox.call("POST", f"/spaces/{space}/devices/{unknown}/details", json={}), 404)
    assert sandbox.device(device)["externalDeviceIds"] == ["EXT-2"]


def test_link_and_unlink_keep_the_device_its_id_and_its_readings(sandbox):
    flat_a = sandbox.create_space(name="Wohnung A", category="FLAT")
    flat_b = sandbox.create_space(name="Wohnung B", category="FLAT")
    device = sandbox.create_device(flat_a, externalDeviceId="MELO-A")
    for at, value in ((1714635961, 1.0), (1714636861, 2.0)):
        assert sandbox.call("POST", "/devices/readings", json=_reading(device, at, value)).ok

    # Moving = link to the new space, unlink from the old (a device may be in several).
    linked = sandbox.call(
        "POST",
        f"/spaces/{flat_b}/devices/{device}",
        json={"isMainDevice": True, "excludedFromCost": True},
    )
    assert linked.status_code == 200, linked.text
    assert [d["id"] for d in sandbox.devices_of(flat_a)] == [device]
    in_b = sandbox.devices_of(flat_b)
    assert [d["id"] for d in in_b] == [device] and in_b[0]["isMainDevice"] is True
    assert in_b[0]["status"] == "CONNECTED" and in_b[0]["latestReadingTime"]
    assert sandbox.call("DELETE", f"/spaces/{flat_a}/devices/{device}").status_code == 200
    assert sandbox.devices_of(flat_a) == []
    moved = sandbox.device(device)
    assert moved["spaceIds"] == [flat_b] and moved["readings"] == 2
    assert moved["links"] == [{"spaceId": flat_b, "isMainDevice": True, "excludedFromCost": True}]

    # Unlinking what is not linked is a 404; linking again is harmless (a retry).
    assert_problem(sandbox.call("DELETE", f"/spaces/{flat_a}/devices/{device}"), 404)
    assert sandbox.call("POST", f"/spaces/{flat_b}/devices/{device}").status_code == 200
    assert sandbox.device(device)["links"][0]["isMainDevice"] is True  # no body: kept

    # In no space at all, the device lives on and still takes readings.
    assert sandbox.call("DELETE", f"/spaces/{flat_b}/devices/{device}").status_code == 200
    assert sandbox.device(device)["spaceIds"] == []
    assert sandbox.call("POST", "/devices/readings", json=_reading(device, 1714637761, 3)).ok
    assert sandbox.device(device)["readings"] == 3
    assert sandbox.call("POST", f"/spaces/{flat_a}/devices/{device}").status_code == 200
    assert sandbox.devices_of(flat_a)[0]["isMainDevice"] is False  # the spec's default

    bad = sandbox.call("POST", f"/spaces/{flat_a}/devices/{device}", json={"isMainDevice": "ja"})
    assert_problem(bad, 400, "IsMainDevice")
    unknown = "5c2f0976-7afc-4d14-a6d5-99d3ae838780"
    assert_problem(sandbox.call("POST", f"/spaces/{flat_a}/devices/{unknown}"), 404)
    assert_problem(sandbox.call("POST", f"/spaces/{unknown}/devices/{device}"), 404)
    assert_problem(sandbox.call("POST", f"/spaces/{flat_a}/devices/nope"), 400, "deviceId")


def test_one_main_device_per_space_and_medium(sandbox):
    space = sandbox.create_space()
    first = sandbox.create_device(space, externalDeviceId="E-1")
    water = sandbox.create_device(space, deviceType="WATER_METER", deviceMedium="WATER")
    second = sandbox.create_device(space, externalDeviceId="E-2")  # main too: takes over
    main = {d["id"]: d["isMainDevice"] for d in sandbox.devices_of(space)}
    assert main == {first: False, water: True, second: True}


# --- readings -------------------------------------------------------------------------


def test_readings_are_stored_and_validated(sandbox):
    space = sandbox.create_space()
    device = sandbox.create_device(space, externalDeviceId="123456789ABCD")
    batch = [
        {
            "externalDeviceId": "123456789ABCD",
            "readings": [
                {"obisCode": "1.8.0", "timestamp": 1714635961, "value": 10.5},
                {"obisCode": "1-1:2.8.0", "timestamp": 1714635961, "value": 0},
            ],
        },
        {
            "deviceId": device,
            "readings": [
                {
                    "obisCode": "1-1:1.8.0",
                    "timestamp": 1714636861,
                    "value": 11,
                    "status": "PRELIMINARY",
                    "meteringInterval": 3600,
                }
            ],
        },
    ]
    stored = sandbox.call("POST", "/devices/readings", json=batch)
    assert stored.status_code == 200, stored.text
    assert sandbox.state()["readings_count"] == 3
    # Re-sending the same readings replaces them instead of doubling them.
    assert sandbox.call("POST", "/devices/readings", json=batch).status_code == 200
    assert sandbox.state()["readings_count"] == 3

    invalid = [
        {
            "deviceId": device,
            "readings": [
                {"obisCode": "1.8.0", "timestamp": 1714640000, "value": 1},
                {"obisCode": "energy", "timestamp": 1714640000, "value": 1},
                {"obisCode": "1.8.0", "timestamp": "yesterday", "value": 1, "status": "GUESS"},
            ],
        },
        {"externalDeviceId": "NOPE", "readings": []},
    ]
    problem = assert_problem(sandbox.call("POST", "/devices/readings", json=invalid), 400)
    assert set(problem["errors"]) >= {
        "[0].Readings[1].ObisCode",
        "[0].Readings[2].Timestamp",
        "[0].Readings[2].Status",
        "[1].ExternalDeviceId",
    }
    assert "[0].Readings[0].ObisCode" not in problem["errors"]
    assert sandbox.state()["readings_count"] == 3  # nothing of the bad batch stored
    not_a_list = sandbox.call("POST", "/devices/readings", json={"deviceId": device})
    assert_problem(not_a_list, 400, "$")


@pytest.mark.parametrize(
    "code",
    [
        "1-0:1.8.0*255",  # IEC's full form: the spec writes 1-1:1.8.0
        "1-0:1.8.0",
        "1.7.0",  # power: the spec lists no power code
        "1-1:1.7.0",
        "1.8.1",  # a tariff register
        "1.0.0",  # heat and water exist in full only
        "8-0:1.0.0*255",
        "1-65:1.29.0*255",  # one of our own codes
    ],
)
def test_only_the_specs_obis_codes_are_accepted(sandbox, code):
    space = sandbox.create_space()
    sandbox.create_device(space, externalDeviceId="CH-OBIS")
    body = [
        {
            "externalDeviceId": "CH-OBIS",
            "readings": [{"obisCode": code, "timestamp": 1714635961, "value": 1.0}],
        }
    ]
    problem = assert_problem(sandbox.call("POST", "/devices/readings", json=body), 400)
    assert problem["errors"] == {
        "[0].Readings[0].ObisCode": [f"'{code}' is not an accepted OBIS code."]
    }


def test_every_code_the_spec_lists_is_accepted(sandbox):
    space = sandbox.create_space()
    sandbox.create_device(space, externalDeviceId="CH-ALL")
    codes = [
        *("1.8.0", "1.9.0", "1.29.0", "2.8.0", "2.9.0", "2.29.0"),
        *("1-1:1.8.0", "1-1:2.29.0", "2.9.0 G.03", "1-1:1.9.0 P.01", "2.9.0 P.01"),
        *("6-1:1.0.0", "7-1:3.1.0", "8-1:1.0.0"),
    ]
    readings = [{"obisCode": c, "timestamp": 1714635961, "value": 1.0} for c in codes]
    body = [{"externalDeviceId": "CH-ALL", "readings": readings}]
    assert sandbox.call("POST", "/devices/readings", json=body).status_code == 200
    assert sandbox.state()["readings_count"] == len(codes)


def test_timestamps_are_int64s_in_the_one_unit_the_platform_reads(sandbox):
    space = sandbox.create_space()
    sandbox.create_device(space, externalDeviceId="CH-TIME")

    def post(timestamp):
        reading = {"obisCode": "1.8.0", "timestamp": timestamp, "value": 1.0}
        body = [{"externalDeviceId": "CH-TIME", "readings": [reading]}]
        return sandbox.call("POST", "/devices/readings", json=body)

    # NewReading.timestamp is an int64: a fraction of a second is not one.
    fraction = assert_problem(post(1714635961.5), 400, "[0].Readings[0].Timestamp")
    assert "Int64" in fraction["errors"]["[0].Readings[0].Timestamp"][0]
    # Seconds by default (the spec's example): milliseconds are beyond the year 9999.
    assert sandbox.state()["options"]["timestamp_unit"] == "seconds"
    assert_problem(post(1714635961000), 400, "[0].Readings[0].Timestamp")
    assert post(1714635961).status_code == 200
    # Switched to milliseconds, the same instant arrives in them, and one reading it is.
    assert sandbox.options(timestamp_unit="milliseconds")["timestamp_unit"] == "milliseconds"
    assert post(1714635961000).status_code == 200
    assert sandbox.state()["readings_count"] == 1
    bad = sandbox.http.post(
        f"{sandbox.control}/options", json={"timestamp_unit": "minutes"}, timeout=10
    )
    assert bad.status_code == 400 and "timestamp_unit" in bad.json()["errors"]


# --- invites --------------------------------------------------------------------------


def test_invite_email_is_sent_stored_and_shown(sandbox, mailoutbox):
    space = sandbox.create_space(name="Wohnung Sonnenberg", category="FLAT")
    response = sandbox.call(
        "POST",
        f"/spaces/{space}/invites",
        json={
            "sendInviteEmail": True,
            "userEmail": "mieterin@example.ch",
            "accessRoleId": VIEWER_ROLE_ID,
        },  # fmt: skip
    )
    assert response.status_code == 200, response.text
    link = response.json()["inviteLink"]
    assert link.startswith(sandbox.root + "/")

    emails = sandbox.http.get(f"{sandbox.control}/emails", timeout=10).json()["emails"]
    assert len(emails) == 1
    assert emails[0]["to"] == "mieterin@example.ch"
    assert link in emails[0]["body"]
    assert "Wohnung Sonnenberg" in emails[0]["subject"]
    assert mailoutbox == []  # a sandbox never sends real e-mail (no open relay)

    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "Wohnung Sonnenberg" in page.text

    trainer = sandbox.http.get(sandbox.root + "/", timeout=10)
    assert trainer.status_code == 200
    assert "mieterin@example.ch" in trainer.text and link in trainer.text
    assert settings.SANDBOX_CLIENT_ID in trainer.text
    assert settings.SANDBOX_CLIENT_SECRET not in trainer.text

    quiet = sandbox.call(
        "POST", f"/spaces/{space}/invites", json={"sendInviteEmail": False, "userEmail": "x@y.ch"}
    )
    assert quiet.status_code == 200
    assert quiet.json()["inviteLink"] != link  # unique per invite
    state = sandbox.state()
    assert state["counts"]["invites"] == 2 and state["counts"]["emails"] == 1
    assert mailoutbox == []

    roles = {i["userEmail"]: i["accessRoleId"] for i in state["invites"]}
    assert roles == {"mieterin@example.ch": VIEWER_ROLE_ID, "x@y.ch": TENANT_ROLE_ID}  # default

    bad = sandbox.call("POST", f"/spaces/{space}/invites", json={"userEmail": "not-an-email"})
    problem = assert_problem(bad, 400, "UserEmail")
    assert "SendInviteEmail" in problem["errors"]
    for role in ("7", "5c2f0976-7afc-4d14-a6d5-99d3ae838780"):
        body = {"sendInviteEmail": False, "userEmail": "a@b.ch", "accessRoleId": role}
        unknown_role = sandbox.call("POST", f"/spaces/{space}/invites", json=body)
        assert_problem(unknown_role, 400, "AccessRoleId")
    assert requests.get(sandbox.root + "/invite/unknown", timeout=10).status_code == 404


def test_access_roles_are_seeded_with_a_default(sandbox):
    answer = sandbox.call("GET", "/access-roles")
    assert answer.status_code == 200
    roles = {r["id"]: r for r in answer.json()["accessRoles"]}
    assert set(roles) == {TENANT_ROLE_ID, VIEWER_ROLE_ID, MANAGER_ROLE_ID}
    assert roles[VIEWER_ROLE_ID]["permissionIds"] == ["VIEW"]
    assert all(r["name"] and r["description"] for r in roles.values())
    assert_problem(sandbox.call("POST", "/access-roles", json={"name": "x"}), 405)


def _accept_on_the_page(link: str, **form) -> requests.Response:
    """What a tenant does: open the link, fill in the form, press "accept"."""
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    assert page.status_code == 200 and "Einladung annehmen" in page.text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return browser.post(link, data={"csrfmiddlewaretoken": csrf, **form}, timeout=10)


def test_users_appear_after_accepting_an_invite_and_can_be_removed(sandbox):
    unit = sandbox.create_space(name="Wohnung 3", category="FLAT")
    link = sandbox.invite(unit, userEmail="mia@example.ch", accessRoleId=VIEWER_ROLE_ID)
    assert sandbox.users_of(unit) == {"users": [], "totalNumPages": 0}

    accepted = _accept_on_the_page(link, name="Mia Muster", email="mia@example.ch")
    assert accepted.status_code == 200 and "Willkommen, Mia Muster" in accepted.text
    users = sandbox.users_of(unit)["users"]
    assert [(u["name"], u["email"]) for u in users] == [("Mia Muster", "mia@example.ch")]
    mia = users[0]
    required = {"id", "name", "email", "partnerId", "lastLogin", "phoneNumber", "createdAt",
                "loginCount", "picture"}  # fmt: skip
    assert required <= set(mia) and mia["id"].startswith("auth0|")
    assert sandbox.space(unit)["associatedUsersId"] == [mia["id"]]
    state = sandbox.state()
    assert state["space_users"] == [
        {"spaceId": unit, "userId": mia["id"], "accessRoleId": VIEWER_ROLE_ID}
    ]
    assert state["invites"][0]["acceptedBy"] == mia["id"]

    # An invite is used once: the page says so (410) and the control side refuses.
    used = requests.get(link, timeout=10)
    assert used.status_code == 410 and "bereits angenommen" in used.text
    assert "<form" not in used.text
    assert sandbox.accept(link).status_code == 409

    # The link is the credential: accepted with another e-mail, that account gets in.
    second = sandbox.accept(sandbox.invite(unit), name="Jonas", email="jonas@example.ch")
    assert second.status_code == 200, second.text
    jonas = second.json()["userId"]
    first_page = sandbox.users_of(unit, page=0, pageSize=1)
    assert first_page["totalNumPages"] == 2 and first_page["users"][0]["id"] == mia["id"]
    assert sandbox.users_of(unit, page=1, pageSize=1)["users"][0]["id"] == jonas
    # Invited to a second space, Mia keeps her one account.
    other = sandbox.create_space(name="Wohnung 4", category="FLAT")
    assert (
        sandbox.accept(sandbox.invite(other, userEmail="mia@example.ch")).json()["userId"]
        == (mia["id"])
    )

    # Withdraw access: the user id ("auth0|…") goes into the path percent-encoded.
    path = f"/spaces/{unit}/users/{quote(mia['id'], safe='')}"
    assert sandbox.call("DELETE", path).status_code == 200
    assert [u["id"] for u in sandbox.users_of(unit)["users"]] == [jonas]
    assert [u["id"] for u in sandbox.users_of(other)["users"]] == [mia["id"]]
    assert_problem(sandbox.call("DELETE", path), 404)
    assert_problem(sandbox.call("DELETE", f"/spaces/{unit}/users/auth0%7Cnobody"), 404)

    # Added back directly, with a role; the role is required and must exist.
    assert_problem(sandbox.call("POST", path, json={}), 400, "AccessRoleId")
    unknown_role = {"accessRoleId": "5c2f0976-7afc-4d14-a6d5-99d3ae838780"}
    assert_problem(sandbox.call("POST", path, json=unknown_role), 400, "AccessRoleId")
    added = sandbox.call("POST", path, json={"accessRoleId": MANAGER_ROLE_ID})
    assert added.status_code == 200
    assert len(sandbox.users_of(unit)["users"]) == 2

    everyone = sandbox.call("DELETE", f"/spaces/{unit}/users")
    assert everyone.status_code == 200 and everyone.json() == {"spaceId": unit}
    assert sandbox.users_of(unit)["users"] == []
    assert sandbox.state()["counts"]["users"] == 2  # the users themselves stay


def test_the_invite_form_needs_a_valid_email(sandbox):
    link = sandbox.invite(sandbox.create_space())
    refused = _accept_on_the_page(link, name="X", email="not-an-email")
    assert refused.status_code == 400 and "valid e-mail" in refused.text
    assert sandbox.state()["counts"]["users"] == 0
    # Without a name the invited e-mail's local part is shown.
    accepted = _accept_on_the_page(link, name="", email="")
    assert accepted.status_code == 200
    assert sandbox.state()["users"][0]["name"] == "mieterin"


# --- faults ---------------------------------------------------------------------------


def test_error_fault_fails_n_calls_without_processing_them(sandbox):
    sandbox.login()
    fault = sandbox.fault(mode="error", count=2, status=503)
    assert fault["remaining"] == 2
    for _ in range(2):
        assert_problem(sandbox.call("POST", "/spaces", json=BUILDING), 503)
        assert sandbox.state()["counts"]["spaces"] == 0
    assert sandbox.call("POST", "/spaces", json=BUILDING).status_code == 200
    state = sandbox.state()
    assert state["counts"]["spaces"] == 1
    assert state["requests"]["POST /spaces"] == 3
    assert state["faults"] == []  # used up


def test_error_fault_defaults_to_500_and_spares_the_token_endpoint(sandbox):
    sandbox.fault(mode="error")
    sandbox.login()  # no path filter: /auth/token is not affected
    assert_problem(sandbox.call("GET", "/spaces"), 500)
    assert sandbox.call("GET", "/spaces").status_code == 200

    sandbox.fault(mode="error", path="/auth/token")
    with pytest.raises(AssertionError):
        sandbox.login()


def test_fault_path_filter(sandbox):
    space = sandbox.create_space()
    sandbox.fault(mode="error", count=1, path="/devices")
    sandbox.create_space(name="Unaffected")
    failed = sandbox.call(
        "POST",
        f"/spaces/{space}/devices",
        json={
            "deviceName": "X",
            "isMainDevice": True,
            "deviceType": "SMART_METER",
            "deviceMedium": "ELECTRICITY",
        },
    )
    assert_problem(failed, 500)
    counts = sandbox.state()["counts"]
    assert (counts["spaces"], counts["devices"]) == (2, 0)


def test_rate_limit_fault_answers_429_with_retry_after(sandbox):
    sandbox.login()
    sandbox.fault(mode="rate_limit", count=1, retry_after=7)
    limited = sandbox.call("POST", "/spaces", json=BUILDING)
    assert_problem(limited, 429)
    assert limited.headers["Retry-After"] == "7"
    assert sandbox.state()["counts"]["spaces"] == 0
    assert sandbox.call("POST", "/spaces", json=BUILDING).status_code == 200
    assert sandbox.state()["counts"]["spaces"] == 1


def test_timeout_fault_processes_the_request_but_answers_too_late(sandbox):
    sandbox.login()
    sandbox.fault(mode="timeout", count=1, delay=1.5)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        sandbox.call("POST", "/spaces", json=BUILDING, timeout=(5, 0.5))
    state = sandbox.state()
    assert state["counts"]["spaces"] == 1  # created although the client saw a timeout
    assert state["requests"]["POST /spaces"] == 1

    # Done with: the next call answers at once and the space is still there only once.
    assert sandbox.call("GET", "/spaces").json()["totalNumPages"] == 1
    assert len(sandbox.call("GET", "/spaces").json()["spaces"]) == 1
    time.sleep(max(0.0, 1.6 - (time.monotonic() - started)))  # let the late answer finish


def test_a_fault_is_taken_by_one_concurrent_request_only(sandbox):
    sandbox.login()
    sandbox.fault(mode="error", count=1)
    statuses = []

    def create(n):
        response = sandbox.call("POST", "/spaces", json={**BUILDING, "name": f"S{n}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [500]
    assert sandbox.state()["counts"]["spaces"] == 5


def test_fault_control_lists_clears_and_rejects_nonsense(sandbox):
    sandbox.fault(mode="timeout", count=3, delay=0.1, path="/spaces")
    listed = sandbox.http.get(f"{sandbox.control}/faults", timeout=10).json()["faults"]
    assert [(f["mode"], f["remaining"], f["path"]) for f in listed] == [("timeout", 3, "/spaces")]
    bad = sandbox.http.post(f"{sandbox.control}/faults", json={"mode": "explode"}, timeout=10)
    assert bad.status_code == 400
    assert sandbox.http.delete(f"{sandbox.control}/faults", timeout=10).status_code == 200
    assert sandbox.http.get(f"{sandbox.control}/faults", timeout=10).json()["faults"] == []
    assert "None" in sandbox.http.get(sandbox.root + "/", timeout=10).text


def test_latency_delays_every_answer(sandbox):
    sandbox.login()
    response = sandbox.http.post(f"{sandbox.control}/latency", json={"ms": 300}, timeout=10)
    assert response.json() == {"ms": 300}
    started = time.monotonic()
    assert sandbox.call("GET", "/spaces").status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.http.post(f"{sandbox.control}/latency", json={"ms": None}, timeout=10)
    assert sandbox.state()["latency_ms"] == settings.SANDBOX_LATENCY_MS


def test_reset_wipes_everything(sandbox):
    space = sandbox.create_space()
    sandbox.create_device(space, externalDeviceId="MELO-9")
    sandbox.call(
        "POST", f"/spaces/{space}/invites", json={"sendInviteEmail": True, "userEmail": "a@b.ch"}
    )
    # A unit (which blocks its building's delete) and a user of it: reset removes all.
    unit = sandbox.create_space(name="Wohnung", category="FLAT", parentSpaceId=space)
    assert sandbox.accept(sandbox.invite(unit)).status_code == 200
    sandbox.fault(mode="error", count=5)
    sandbox.glitch(mode="empty_object", count=3)
    sandbox.options(timestamp_unit="milliseconds", dach_postcodes_only=True)
    assert sandbox.http.post(f"{sandbox.control}/reset", timeout=10).status_code == 200

    state = sandbox.state()
    assert state["counts"] == {
        "spaces": 0,
        "devices": 0,
        "invites": 0,
        "emails": 0,
        "readings": 0,
        "users": 0,
        "space_users": 0,
        "tokens_valid": 0,
    }
    assert state["glitches"] == []
    assert state["options"] == {"timestamp_unit": "seconds", "dach_postcodes_only": False}
    assert state["requests"] == {} and state["faults"] == []
    assert_problem(sandbox.call("GET", "/spaces"), 401)  # tokens are gone too
    sandbox.login()
    assert sandbox.call("GET", "/spaces").json() == {"spaces": [], "totalNumPages": 0}


def test_control_side_needs_a_staff_login_or_the_control_token(sandbox):
    # Without either, nobody can read, reset or break the sandbox.
    for method, path in [("GET", "/state"), ("POST", "/reset"), ("GET", "/emails")]:
        response = requests.request(method, f"{sandbox.control}{path}", timeout=10)
        assert response.status_code == 403, path
        assert "X-Sandbox-Token" in response.json()["error"]
    wrong = requests.get(
        f"{sandbox.control}/state", headers={"X-Sandbox-Token": "guess"}, timeout=10
    )
    assert wrong.status_code == 403
    page = requests.get(
        sandbox.root + "/", headers={"Accept": "text/html"}, allow_redirects=False, timeout=10
    )
    assert page.status_code == 302 and "/login/" in page.headers["Location"]


def test_the_trainer_page_shows_the_state_to_staff(sandbox, admin_client):
    sandbox.create_space(name="Haus Trainer")
    page = admin_client.get("/sandbox/zaehlerfreunde/")
    assert page.status_code == 200
    assert "Haus Trainer" in page.content.decode()


# --- 2xx glitches ---------------------------------------------------------------------


def test_body_glitches_process_the_request_and_answer_without_the_promised_id(sandbox):
    space = sandbox.create_space()
    sandbox.glitch(mode="empty_object", count=1)
    empty = sandbox.call(
        "POST",
        f"/spaces/{space}/devices",
        json={"deviceName": "X", "isMainDevice": True, "deviceType": "SMART_METER",
              "deviceMedium": "ELECTRICITY"},
    )  # fmt: skip
    assert (empty.status_code, empty.json()) == (200, {})
    assert sandbox.state()["counts"]["devices"] == 1  # created nevertheless

    sandbox.glitch(mode="list_body", count=1)
    listed = sandbox.call("GET", "/spaces")
    assert (listed.status_code, listed.json()) == (200, [])
    # A refused call keeps its refusal (the glitch is used up all the same).
    sandbox.glitch(mode="empty_object", count=1)
    assert_problem(sandbox.call("POST", "/spaces", json={"name": "x"}), 400)
    assert sandbox.state()["glitches"] == []

    # Without a path a glitch spares the token endpoint; with one it can hit it.
    sandbox.glitch(mode="empty_object", count=1, path="/auth/token")
    with pytest.raises(KeyError):
        sandbox.login()


def test_glitch_control_lists_clears_and_rejects_nonsense(sandbox):
    sandbox.glitch(mode="list_body", count=2, path="/devices")
    listed = sandbox.http.get(f"{sandbox.control}/glitches", timeout=10).json()["glitches"]
    assert [(g["mode"], g["remaining"], g["path"]) for g in listed] == [
        ("list_body", 2, "/devices")
    ]
    assert "list_body" in sandbox.http.get(sandbox.root + "/", timeout=10).text
    for spec in ({"mode": "explode"}, {"mode": "list_body", "count": 0}, ["list_body"]):
        answer = sandbox.http.post(f"{sandbox.control}/glitches", json=spec, timeout=10)
        assert answer.status_code == 400
    assert sandbox.http.delete(f"{sandbox.control}/glitches", timeout=10).status_code == 200
    assert sandbox.state()["glitches"] == []
    anonymous = requests.post(f"{sandbox.control}/glitches", json={"mode": "list_body"}, timeout=10)
    assert anonymous.status_code == 403
