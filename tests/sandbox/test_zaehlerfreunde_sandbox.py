"""The Zählerfreunde sandbox over real HTTP (pytest-django's live server + requests)."""

import threading
import time

import pytest
import requests
from django.conf import settings

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
    assert listed[0]["parentSpaceId"] is None
    assert listed[0]["addressLineOne"] == "Lindenweg 3"
    assert {s["parentSpaceId"] for s in listed[1:]} == {building}
    assert listed[2]["addressLineTwo"] == "2. OG"
    assert listed[2]["category"] == "FLAT"

    everything = sandbox.call("GET", "/spaces").json()
    assert len(everything["spaces"]) == 3 and everything["totalNumPages"] == 1
    empty_page = sandbox.call("GET", "/spaces", params={"page": 5, "pageSize": 2}).json()
    assert empty_page["spaces"] == []
    assert_problem(sandbox.call("GET", "/spaces", params={"pageSize": 101}), 400, "PageSize")
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


def test_update_and_delete_space_with_everything_below_it(sandbox):
    building = sandbox.create_space()
    unit = sandbox.create_space(name="Wohnung 1", category="FLAT", parentSpaceId=building)
    other = sandbox.create_space(name="Anderes Haus")
    sandbox.create_device(unit, externalDeviceId="MELO-1")
    invite = sandbox.call(
        "POST", f"/spaces/{unit}/invites", json={"sendInviteEmail": False, "userEmail": "a@b.ch"}
    )
    assert invite.status_code == 200

    updated = sandbox.call("PUT", f"/spaces/{unit}", json={**BUILDING, "name": "Whg. 1 links"})
    assert updated.status_code == 200
    by_id = {s["id"]: s for s in sandbox.state()["spaces"]}
    assert by_id[unit]["name"] == "Whg. 1 links"
    assert by_id[unit]["parentSpaceId"] is None  # PUT replaces: no parent sent

    moved = sandbox.call("PUT", f"/spaces/{unit}", json={**BUILDING, "parentSpaceId": building})
    assert moved.status_code == 200
    cycle = sandbox.call("PUT", f"/spaces/{building}", json={**BUILDING, "parentSpaceId": unit})
    assert_problem(cycle, 400, "ParentSpaceId")
    unknown = "5c2f0976-7afc-4d14-a6d5-99d3ae838780"
    assert_problem(sandbox.call("PUT", f"/spaces/{unknown}", json=BUILDING), 404)
    assert_problem(sandbox.call("PUT", f"/spaces/{unit}", json={"name": "x"}), 400, "City")

    assert sandbox.call("DELETE", f"/spaces/{building}").status_code == 200
    state = sandbox.state()
    assert [s["id"] for s in state["spaces"]] == [other]
    assert state["counts"]["devices"] == 0 and state["counts"]["invites"] == 0
    assert_problem(sandbox.call("DELETE", f"/spaces/{building}"), 404)
    assert_problem(sandbox.call("DELETE", "/spaces/garbage"), 400, "spaceId")


# --- devices --------------------------------------------------------------------------


def test_devices_create_list_conflict_delete(sandbox):
    space = sandbox.create_space()
    main = sandbox.create_device(space, externalDeviceId="MELO-1", serialNumber="1ESY123")
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
    assert first["status"] == "ACTIVE" and first["isMainDevice"] is True
    assert first["deviceType"] == "SMART_METER" and first["medium"] == "ELECTRICITY"
    assert second["externalDeviceIds"] == [] and second["medium"] == "WATER"

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


# --- readings -------------------------------------------------------------------------


def test_readings_are_stored_and_validated(sandbox):
    space = sandbox.create_space()
    device = sandbox.create_device(space, externalDeviceId="123456789ABCD")
    batch = [
        {
            "externalDeviceId": "123456789ABCD",
            "readings": [
                {"obisCode": "1.8.0", "timestamp": 1714635961, "value": 10.5},
                {"obisCode": "1-0:2.8.0*255", "timestamp": 1714635961000, "value": 0},
            ],
        },
        {
            "deviceId": device,
            "readings": [
                {
                    "obisCode": "1-0:1.8.0",
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


# --- invites --------------------------------------------------------------------------


def test_invite_email_is_sent_stored_and_shown(sandbox, mailoutbox):
    space = sandbox.create_space(name="Wohnung Sonnenberg", category="FLAT")
    response = sandbox.call(
        "POST",
        f"/spaces/{space}/invites",
        json={"sendInviteEmail": True, "userEmail": "mieterin@example.ch", "accessRoleId": "7"},
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

    bad = sandbox.call("POST", f"/spaces/{space}/invites", json={"userEmail": "not-an-email"})
    problem = assert_problem(bad, 400, "UserEmail")
    assert "SendInviteEmail" in problem["errors"]
    assert requests.get(sandbox.root + "/invite/unknown", timeout=10).status_code == 404


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
    sandbox.fault(mode="error", count=5)
    assert sandbox.http.post(f"{sandbox.control}/reset", timeout=10).status_code == 200

    state = sandbox.state()
    assert state["counts"] == {
        "spaces": 0,
        "devices": 0,
        "invites": 0,
        "emails": 0,
        "readings": 0,
        "tokens_valid": 0,
    }
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
