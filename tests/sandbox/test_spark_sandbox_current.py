"""The Spark sandbox in the current form (SPARK_API=current) as a partner would meet it:
every request body checked against Volue's spec, every answer a status the spec lists for
the operation with a body its response schema takes (asserted here for each answer, with
the same validator on the same spec file), no cascade or 409 the spec does not list."""

import json
import uuid

import pytest
import requests
from django.contrib.auth.models import Permission

from providers.spark.sandbox import spec

from ..loopback import Answer

pytestmark = pytest.mark.django_db(transaction=True)
API = "/sandbox/spark/energy-coordination/v1"
TOKEN = "/sandbox/spark/identity/connect/token"
FORM = {"grant_type": "client_credentials", "client_id": "portal-sandbox"}


class Api:
    """The sandbox's API with a token; every answer checked against the spec."""

    def __init__(self, base: str):
        response = requests.post(
            base + TOKEN, data={**FORM, "client_secret": "sandbox-secret"}, timeout=10
        )
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.base = base + API

    def call(self, method: str, template: str, ids: dict | None = None, body=None, **kwargs):
        path = template.format(**(ids or {}))
        kwargs.setdefault("json", body)
        response = self.http.request(method, self.base + path, timeout=10, **kwargs)
        assert_as_the_spec_says(response, method, template)
        return response


def assert_as_the_spec_says(response, method: str, template: str) -> None:
    listed = spec.responses(method, template)
    assert str(response.status_code) in listed, (
        f"{method} {template} answered {response.status_code}; the spec lists {sorted(listed)}"
    )
    content_type, schema = spec.response_schema(method, template, response.status_code)
    if not content_type:
        assert not response.content, f"{method} {template}: the spec declares no body"
        return
    assert response.headers["Content-Type"].split(";")[0] == content_type
    if schema is not None:
        assert spec.errors_of(schema, response.json()) == {}, response.text


@pytest.fixture
def api(spark, live_server) -> Api:
    return Api(live_server.url)


def user(api: Api) -> str:
    user_id = str(uuid.uuid4())
    assert api.call("POST", "/users", body={"userId": user_id}).status_code == 201
    return user_id


def location(api: Api, user_id: str, **fields) -> str:
    body = {
        "locationId": str(uuid.uuid4()),
        "locationType": "Residential",
        "meterPointIds": ["CH1012301234500000000000000012345"],
        **fields,
    }
    ids = {"userId": user_id}
    assert api.call("POST", "/users/{userId}/locations", ids, body).status_code == 201
    return body["locationId"]


# --- users -----------------------------------------------------------------------------


def test_users_have_the_partners_ids_and_a_repeat_creates_nothing(api, spark):
    user_id = str(uuid.uuid4())
    first = api.call("POST", "/users", body={"userId": user_id})
    assert first.status_code == 201 and first.json() == {"userId": user_id}
    again = api.call("POST", "/users", body={"userId": user_id})
    assert again.status_code == 200  # the spec lists 200 beside 201; no 409 for users
    assert spark.count("users") == 1

    found = api.call("GET", "/users/{userId}", {"userId": user_id})
    assert found.json() == {"userId": user_id}
    listed = api.call("GET", "/users", params={"page": 1, "pageSize": 10}).json()
    assert listed["users"] == [{"userId": user_id}] and listed["pagination"]["totalRecords"] == 1
    assert api.call("GET", "/users", params={"pageSize": 1001}).status_code == 400

    assert api.call("DELETE", "/users/{userId}", {"userId": user_id}).status_code == 204
    assert api.call("GET", "/users/{userId}", {"userId": user_id}).status_code == 404
    assert api.call("DELETE", "/users/{userId}", {"userId": user_id}).status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "$"),  # the id is ours and required: no platform-made ids here
        ({"userId": "u", "name": "Ana"}, "$"),  # additionalProperties: false
        ({"userId": 7}, "$.userId"),
    ],
)
def test_a_user_body_the_spec_refuses_is_400_and_counted(api, spark, body, where):
    refused = api.call("POST", "/users", body=body)
    assert refused.status_code == 400 and isinstance(refused.json(), str)  # the spec's 400
    state = spark.state()
    assert state["counts"]["users"] == 0 and state["counts"]["refused_bodies"] == 1
    [kept] = state["refused_bodies"]
    assert kept["endpoint"] == "POST /users" and where in kept["errors"]


# --- locations -------------------------------------------------------------------------


def test_locations_created_read_replaced_patched_and_deleted(api, spark):
    owner = user(api)
    ids = {"userId": owner}
    location_id = location(api, owner, coordinates={"latitude": 47.37, "longitude": 8.54})
    one = {**ids, "locationId": location_id}
    got = api.call("GET", "/users/{userId}/locations/{locationId}", one).json()
    assert got == {
        "locationId": location_id,
        "locationType": "Residential",
        "coordinates": {"latitude": 47.37, "longitude": 8.54},
        "meterPointId": "CH1012301234500000000000000012345",
        "meterPointIds": ["CH1012301234500000000000000012345"],
        "userId": owner,
    }
    # A repeated id is the spec's 409, and the first location stays as it was.
    repeat = {"locationId": location_id, "locationType": "Commercial", "meterPointIds": []}
    assert api.call("POST", "/users/{userId}/locations", ids, repeat).status_code == 409
    # PUT replaces: the coordinates left out are gone.
    put = {"locationId": location_id, "locationType": "Commercial", "meterPointIds": ["X"]}
    replaced = api.call("PUT", "/users/{userId}/locations/{locationId}", one, put).json()
    assert "coordinates" not in replaced and replaced["locationType"] == "Commercial"
    # PATCH changes what it names.
    patched = api.call(
        "PATCH", "/users/{userId}/locations/{locationId}", one, {"meterPointIds": ["Y"]}
    ).json()
    assert patched["meterPointIds"] == ["Y"] and patched["locationType"] == "Commercial"
    assert [x["locationId"] for x in api.call("GET", "/users/{userId}/locations", ids).json()] == [
        location_id
    ]
    assert api.call("DELETE", "/users/{userId}/locations/{locationId}", one).status_code == 204
    assert api.call("GET", "/users/{userId}/locations/{locationId}", one).status_code == 404
    assert spark.count("refused_bodies") == 0


def test_a_location_with_the_guides_meter_fields_is_refused(api, spark):
    owner = user(api)
    meter = {
        "locationId": str(uuid.uuid4()),
        "address": {"street": "Lindenstrasse 5", "city": "Zürich", "zipCode": "8004"},
        "meterNumber": "77",
        "locationType": "Flat",
    }
    refused = api.call("POST", "/users/{userId}/locations", {"userId": owner}, meter)
    assert refused.status_code == 400
    [kept] = spark.state()["refused_bodies"]
    assert set(kept["errors"]) == {"$", "$.locationType"}
    [extra] = kept["errors"]["$"]
    assert extra.startswith("Additional properties are not allowed")
    assert "'address'" in extra and "'meterNumber'" in extra
    unknown = {"userId": str(uuid.uuid4())}
    body = {"locationId": "l-1"}
    assert api.call("POST", "/users/{userId}/locations", unknown, body).status_code == 404
    assert spark.count("locations") == 0


# --- vehicles and location-bound resources ---------------------------------------------


def test_vehicles_and_resources_by_the_partners_ids(api, spark):
    owner = user(api)
    where = location(api, owner)
    car, tank = str(uuid.uuid4()), str(uuid.uuid4())
    ids = {"userId": owner}
    vehicle = {"resourceId": car, "resourceType": "Vehicle"}
    made = api.call("POST", "/users/{userId}/vehicles", ids, vehicle)
    assert made.status_code == 201 and made.json()["locationId"] is None
    bound = {**ids, "locationId": where}
    body = {"resourceId": tank, "resourceType": "HotWaterTank", "meterPointId": "M-1"}
    made = api.call("POST", "/users/{userId}/locations/{locationId}/resources", bound, body)
    assert made.status_code == 201 and made.json()["locationId"] == where

    got = api.call("GET", "/resources/{resourceId}", {"resourceId": tank}).json()
    assert got == {
        "resourceId": tank,
        "resourceType": "HotWaterTank",
        "userId": owner,
        "locationId": where,
        "meterPointId": "M-1",
    }
    mine = api.call("GET", "/users/{userId}/resources", ids).json()["resources"]
    assert {r["resourceId"] for r in mine} == {car, tank}
    at = api.call("GET", "/users/{userId}/locations/{locationId}/resources", bound).json()
    assert [r["resourceId"] for r in at] == [tank]

    # The same create again creates nothing (200); the id elsewhere is refused (400).
    assert api.call("POST", "/users/{userId}/vehicles", ids, vehicle).status_code == 200
    other = {"userId": user(api)}
    assert api.call("POST", "/users/{userId}/vehicles", other, vehicle).status_code == 400
    assert spark.count("vehicles") == 1 and spark.count("resources") == 1

    assert api.call("DELETE", "/resources/{resourceId}", {"resourceId": car}).status_code == 204
    assert api.call("GET", "/resources/{resourceId}", {"resourceId": car}).status_code == 404


def test_vehicle_metadata_and_unknown_places_are_refused(api, spark):
    owner = user(api)
    guide_vehicle = {
        "resourceId": str(uuid.uuid4()),
        "resourceType": "Vehicle",
        "metadata": {"brand": "Tesla", "model": "Model 3"},
    }
    ids = {"userId": owner}
    assert api.call("POST", "/users/{userId}/vehicles", ids, guide_vehicle).status_code == 400
    tank = {"resourceId": str(uuid.uuid4()), "resourceType": "HeatPump"}  # not in the enum
    bound = {**ids, "locationId": location(api, owner)}
    path = "/users/{userId}/locations/{locationId}/resources"
    assert api.call("POST", path, bound, tank).status_code == 400
    assert spark.count("refused_bodies") == 2
    nowhere = {**ids, "locationId": "no-such-location"}
    missing = api.call("POST", path, nowhere, {**tank, "resourceType": "HVAC"})
    assert missing.status_code == 404 and isinstance(missing.json(), str)
    assert spark.count("resources") == 0


def test_deleting_a_user_deletes_nothing_the_spec_does_not_say(api, spark):
    """The spec does not say what deleting a user does to its locations and resources:
    the sandbox invents no cascade (and the portal deletes bottom-up, never relying on
    one)."""
    owner = user(api)
    where = location(api, owner)
    tank = str(uuid.uuid4())
    bound = {"userId": owner, "locationId": where}
    body = {"resourceId": tank, "resourceType": "HotWaterTank"}
    api.call("POST", "/users/{userId}/locations/{locationId}/resources", bound, body)
    assert api.call("DELETE", "/users/{userId}", {"userId": owner}).status_code == 204
    assert api.call("GET", "/resources/{resourceId}", {"resourceId": tank}).status_code == 200
    assert spark.count("locations") == 1


def test_the_guides_paths_are_not_there(api, spark, live_server):
    owner = user(api)
    meters = api.http.post(f"{api.base}/users/{owner}/meters", json={}, timeout=10)
    assert meters.status_code == 404
    assert spark.requests_to("POST /users/{userId}/meters") == 0


# --- events, webhooks, reports ---------------------------------------------------------


def webhook(api: Api, url: str, types=("UserEligibilityUpdated",), secret="s3cret") -> dict:  # noqa: S107
    body = {"name": "portal", "webhookUrl": url, "webhookSecret": secret,
            "notificationTypes": list(types)}  # fmt: skip
    made = api.call("POST", "/webhooks", body=body)
    assert made.status_code == 201
    return made.json()


def test_an_event_is_delivered_listed_and_the_webhook_status_follows(api, spark, loopback):
    hook = webhook(api, loopback.url + "/hook")
    assert hook["status"] == "New"
    owner = user(api)
    simulated = api.call("POST", "/simulation/events/usereligibility").json()["simulatedEvent"]
    assert simulated["payload"]["addedUsers"] == [owner]

    [delivery] = loopback.received
    envelope = json.loads(delivery.body)
    assert envelope["eventId"] == simulated["id"]
    assert envelope["notificationType"] == "UserEligibilityUpdated"
    assert spec.errors_of(spec.schema("EventNotification"), envelope) == {}
    listed = api.call("GET", "/webhooks").json()["webhooks"]
    assert [w["status"] for w in listed] == ["Healthy"]

    loopback.default = Answer(status=500)
    newer = api.call("POST", "/simulation/events/usereligibility").json()["simulatedEvent"]
    events = api.call("GET", "/events", params={"page": 1, "pageSize": 10}).json()
    assert [e["id"] for e in events["events"]] == [newer["id"], simulated["id"]]  # newest first
    one = api.call("GET", "/events/{eventId}", {"eventId": simulated["id"]}).json()
    assert one == simulated
    assert api.call("GET", "/events/{eventId}", {"eventId": "nope"}).status_code == 404
    hook_now = api.call("GET", "/webhooks/{webhookId}", {"webhookId": hook["webhookId"]})
    assert hook_now.json()["status"] == "Unhealthy"


def test_a_price_curve_targets_the_resources_it_holds(api, spark, loopback):
    webhook(api, loopback.url + "/hook", types=["PriceCurveCreated"])
    owner = user(api)
    bound = {"userId": owner, "locationId": location(api, owner)}
    tank = {"resourceId": str(uuid.uuid4()), "resourceType": "HotWaterTank"}
    api.call("POST", "/users/{userId}/locations/{locationId}/resources", bound, tank)
    made = api.call("POST", "/simulation/events/pricecurve", body={"priceArea": "NO2"})
    payload = made.json()["simulatedEvent"]["payload"]
    assert payload["targets"] == [
        {"resourceId": tank["resourceId"], "locationId": bound["locationId"]}
    ]
    assert payload["priceArea"] == "NO2" and len(payload["priceCurveDelta"]["points"]) == 24
    assert json.loads(loopback.received[0].body)["payload"] == payload


def test_webhooks_take_the_specs_body_only_and_a_secret_can_be_changed(api, spark, loopback):
    guide_body = {"url": loopback.url, "operations": ["Create"], "eventTypes": ["PriceDelta"]}
    assert api.call("POST", "/webhooks", body=guide_body).status_code == 400
    hook = webhook(api, loopback.url + "/hook", secret="old")
    ids = {"webhookId": hook["webhookId"]}
    patched = api.call("PATCH", "/webhooks/{webhookId}", ids, {"webhookSecret": "new"})
    assert patched.json()["name"] == "portal"  # the rest as it was
    api.call("POST", "/simulation/events/usereligibility")
    signature = loopback.received[0].headers["X-Payload-Signature"]
    from providers.spark.events.signature import sign

    assert signature == sign("new", loopback.received[0].body)
    assert api.call("DELETE", "/webhooks/{webhookId}", ids).status_code == 204
    assert spark.count("refused_bodies") == 1


def test_a_report_answers_an_event_in_the_reports_pages_terms(api, spark, loopback):
    webhook(api, loopback.url + "/hook")
    event = api.call("POST", "/simulation/events/usereligibility").json()["simulatedEvent"]
    charge = {
        "payloadType": "VehicleChargeAction",
        "resourceId": str(uuid.uuid4()),
        "location": {"latitude": 63.1, "longitude": 10.7},
        "actionType": "Start",
        "power": 11000,
        "stateOfCharge": 50,
        "batteryCapacity": 75,
    }
    answer = api.call("POST", "/reports", body={"eventId": event["id"], "payloads": [charge]})
    assert answer.status_code == 200 and set(answer.json()) == {"id", "eventId", "createdAt"}
    assert answer.json()["eventId"] == event["id"]

    refusals = [
        {"eventId": "not-an-event", "payloads": [charge]},  # names no event Spark sent
        {"eventId": event["id"], "name": "Vehicle Started Charging", "payloads": [charge]},
        {"payloads": [{k: v for k, v in charge.items() if k != "location"}]},  # required
        {"payloads": [{**charge, "stateOfCharge": 150}]},  # percent
    ]
    for body in refusals:
        assert api.call("POST", "/reports", body=body).status_code == 400, body
    assert spark.count("reports") == 1 and spark.count("refused_bodies") == 2


def test_the_trainer_page_shows_the_form_locations_and_refused_bodies(
    api, spark, client, django_user_model
):
    owner = user(api)
    where = location(api, owner)
    tank = {"resourceId": str(uuid.uuid4()), "resourceType": "HotWaterTank"}
    bound = {"userId": owner, "locationId": where}
    api.call("POST", "/users/{userId}/locations/{locationId}/resources", bound, tank)
    api.call("POST", "/users", body={"userId": owner, "email": "ana@example.org"})  # refused
    staff = django_user_model.objects.create_user("trainer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="control_sandbox"))  # a trainer
    client.force_login(staff)
    page = client.get("/sandbox/spark/").content.decode()
    assert "Serving Spark's <strong>current</strong> API" in page
    for text in (owner, where, tank["resourceId"], "HotWaterTank at location",
                 "Bodies the spec refused", "POST /users", "was unexpected"):  # fmt: skip
        assert text in page, text
