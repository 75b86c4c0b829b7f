"""The Spark sandbox as a partner would meet it: its identity server and API over HTTP,
built to the guide (and NOTES.md), not to our client. The guide's form (SPARK_API=guide);
test_spark_sandbox_current.py has the current form."""

import base64
import hashlib
import hmac
import json
import uuid

import pytest
import requests
from django.contrib.auth.models import Permission

from ..loopback import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("spark_guide")]
API = "/sandbox/spark/energy-coordination/v1"
TOKEN = "/sandbox/spark/identity/connect/token"
FORM = {"grant_type": "client_credentials", "client_id": "portal-sandbox"}
METER = {
    "address": {"street": "Lindenstrasse 5", "city": "Zürich", "zipCode": "8004"},
    "location": {"latitude": 47.37, "longitude": 8.54},
    "meterPointId": "CH1012301234500000000000000012345",
    "meterNumber": "12345678",
    "locationType": "Residential",
}
VEHICLE = {
    "vehicleId": "9d1c1f2e-1111-4a4a-9c9c-000000000001",
    "metadata": {
        "resourceType": "Vehicle",
        "brand": "Tesla",
        "model": "Model 3",
        "year": 2022,
        "vin": "5YJ3E1EA7KF317000",
    },
}
TANK = {
    "resourceId": "7a7a7a7a-2222-4b4b-8d8d-000000000001",
    "metadata": {
        "resourceType": "HotWaterTank",
        "brand": "Oso",
        "model": "SuperTank",
        "capacity": 500,
        "heatingElements": [1750, 1250],
    },
}


@pytest.fixture
def api(spark, live_server):
    """A requests session holding a fresh token, with the API's base URL."""
    response = requests.post(
        live_server.url + TOKEN, data={**FORM, "client_secret": "sandbox-secret"}, timeout=10
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    session.base = live_server.url + API
    return session


def post(api, path, body=None, **kwargs):
    return api.post(api.base + path, json=body, timeout=10, **kwargs)


def new_user(api) -> str:
    return post(api, "/users", {}).json()["userId"]


# --- the identity server ---------------------------------------------------------------


def test_client_credentials_form_encoded_as_the_guide_sends_them(spark, live_server):
    response = requests.post(
        live_server.url + TOKEN, data={**FORM, "client_secret": "sandbox-secret"}, timeout=10
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 30 * 60
    assert body["access_token"]
    assert response.headers["Cache-Control"] == "no-store"
    assert spark.count("tokens_valid") == 1

    # client_secret_basic works too (RFC 6749 §2.3.1), as on any compliant server.
    basic = requests.post(
        live_server.url + TOKEN,
        data={"grant_type": "client_credentials"},
        auth=("portal-sandbox", "sandbox-secret"),
        timeout=10,
    )
    assert basic.status_code == 200


@pytest.mark.parametrize(
    ("send", "status", "error"),
    [
        ({"data": {**FORM, "client_secret": "wrong"}}, 400, "invalid_client"),
        ({"data": {"grant_type": "client_credentials"}, "auth": ("portal-sandbox", "x")}, 401,
         "invalid_client"),
        ({"json": {**FORM, "client_secret": "sandbox-secret"}}, 400, "invalid_request"),
        ({"data": {**FORM, "client_secret": "sandbox-secret", "grant_type": "password"}}, 400,
         "unsupported_grant_type"),
        ({"data": {**FORM, "client_secret": "sandbox-secret", "scope": "everything"}}, 400,
         "invalid_scope"),
    ],
)  # fmt: skip
def test_token_errors_are_rfc_6749(spark, live_server, send, status, error):
    response = requests.post(live_server.url + TOKEN, timeout=10, **send)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert spark.count("tokens_valid") == 0


def test_missing_and_expired_tokens_are_refused(api, spark, live_server):
    anonymous = requests.get(live_server.url + API + "/users", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    assert api.get(api.base + "/users", timeout=10).status_code == 200

    spark.expire_tokens()
    expired = api.get(api.base + "/users", timeout=10)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


# --- users and what they own -----------------------------------------------------------


def test_users_created_listed_by_page_and_deleted_with_what_they_own(api, spark):
    created = post(api, "/users", {})
    assert created.status_code == 201
    first = created.json()["userId"]
    others = [new_user(api) for _ in range(4)]
    assert post(api, f"/users/{first}/meters", METER).status_code == 201
    assert post(api, f"/users/{first}/vehicles", VEHICLE).status_code == 201

    page = api.get(api.base + "/users", params={"page": 2, "pageSize": 2}, timeout=10).json()
    assert [u["userId"] for u in page["users"]] == others[1:3]
    assert page["pagination"]["totalPages"] == 3 and page["pagination"]["currentPage"] == 2
    too_big = api.get(api.base + "/users", params={"pageSize": 5000}, timeout=10)
    assert too_big.status_code == 400 and "pageSize" in too_big.json()["errors"]

    assert api.delete(f"{api.base}/users/{first}", timeout=10).status_code == 204
    assert api.get(f"{api.base}/users/{first}", timeout=10).status_code == 404
    state = spark.state()
    assert state["counts"] == {**state["counts"], "users": 4, "meters": 0, "vehicles": 0}


def test_meter_validation_errors_in_the_guides_error_shape(api):
    user = new_user(api)
    response = post(
        api, f"/users/{user}/meters", {**METER, "address": {"street": "Weg 1"}, "meterPointId": ""}
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "One or more validation errors occurred."
    assert set(problem["errors"]) == {"meterPointId", "address.city", "address.zipCode"}

    wrong_type = post(api, f"/users/{user}/meters", {**METER, "locationType": "Castle"})
    assert "locationType" in wrong_type.json()["errors"]
    assert post(api, f"/users/{user}/meters", "not an object").status_code == 400


def test_a_repeated_key_is_a_conflict_and_the_first_object_stays(api, spark):
    alice, bob = new_user(api), new_user(api)
    meter = post(api, f"/users/{alice}/meters", METER)
    assert meter.status_code == 201 and meter.json()["meterId"]
    assert post(api, f"/users/{alice}/vehicles", VEHICLE).status_code == 201
    assert post(api, f"/users/{alice}/resources", TANK).status_code == 201

    for path, body, key in (
        ("meters", METER, "meterPointId"),
        ("vehicles", VEHICLE, "vehicleId"),
        ("resources", TANK, "resourceId"),
    ):
        for user in (alice, bob):
            again = post(api, f"/users/{user}/{path}", body)
            assert again.status_code == 409, (path, user)
            assert key in again.json()["errors"]
    # vehicleId and resourceId are one namespace: a resource cannot take a vehicle's key.
    clash = post(api, f"/users/{bob}/resources", {**TANK, "resourceId": VEHICLE["vehicleId"]})
    assert clash.status_code == 409

    state = spark.state()
    assert [state["counts"][k] for k in ("meters", "vehicles", "resources")] == [1, 1, 1]
    owner = next(u for u in state["users"] if u["userId"] == alice)
    assert owner["meters"][0]["meterPointId"] == METER["meterPointId"]


def test_vehicles_and_resources_with_the_guides_metadata(api):
    user = new_user(api)
    vehicle = post(api, f"/users/{user}/vehicles", VEHICLE)
    assert vehicle.status_code == 201 and vehicle.json()["vehicleId"] == VEHICLE["vehicleId"]
    tank = post(api, f"/users/{user}/resources", TANK)
    assert tank.json()["metadata"]["heatingElements"] == [1750, 1250]

    vehicles = api.get(f"{api.base}/users/{user}/vehicles", timeout=10).json()["vehicles"]
    resources = api.get(f"{api.base}/users/{user}/resources", timeout=10).json()["resources"]
    assert [v["vehicleId"] for v in vehicles] == [VEHICLE["vehicleId"]]
    # A vehicle is a resource: the resources list holds both.
    assert {r["resourceId"] for r in resources} == {VEHICLE["vehicleId"], TANK["resourceId"]}

    bad = post(
        api,
        f"/users/{user}/vehicles",
        {"vehicleId": "v2", "metadata": {"brand": "", "model": "X", "vin": "IIIIIIIIIIIIIIIII"}},
    )
    assert set(bad.json()["errors"]) == {"metadata.brand", "metadata.vin"}
    as_resource = post(
        api, f"/users/{user}/resources", {"resourceId": "r2", "metadata": VEHICLE["metadata"]}
    )
    assert "metadata.resourceType" in as_resource.json()["errors"]
    elements = post(
        api,
        f"/users/{user}/resources",
        {"resourceId": "r3", "metadata": {"resourceType": "HotWaterTank", "heatingElements": [0]}},
    )
    assert "metadata.heatingElements[0]" in elements.json()["errors"]

    gone = api.delete(f"{api.base}/users/{user}/vehicles/{VEHICLE['vehicleId']}", timeout=10)
    assert gone.status_code == 204
    assert api.delete(f"{api.base}/users/{user}/vehicles/nope", timeout=10).status_code == 404


def test_a_timeout_fault_creates_first_and_answers_late(api, spark):
    user = new_user(api)
    spark.fault("timeout", count=1, delay=2, path="/vehicles")
    with pytest.raises(requests.ReadTimeout):
        api.post(f"{api.base}/users/{user}/vehicles", json=VEHICLE, timeout=0.5)
    assert spark.count("vehicles") == 1


def test_rate_limit_fault_answers_429_with_retry_after(api, spark):
    spark.fault("rate_limit", count=1, retry_after=9)
    response = post(api, "/users", {})
    assert response.status_code == 429 and response.headers["Retry-After"] == "9"
    assert response.json()["status"] == 429
    assert spark.count("users") == 0


# --- webhooks and reports --------------------------------------------------------------


def test_webhook_test_event_is_signed_and_delivered(api, spark, loopback):
    secret = "exaglIXHM6IZue0"
    created = post(
        api,
        "/webhooks",
        {"name": "ours", "webhookUrl": loopback.url + "/hook", "webhookSecret": secret,
         "notificationTypes": ["PriceCurveCreated"]},
    )  # fmt: skip
    assert created.status_code == 201
    webhook = created.json()
    # The spec's WebhookStatus: New until a delivery went, then how it went.
    assert webhook["enabled"] is True and webhook["status"] == "New"
    assert "webhookSecret" not in json.dumps(api.get(api.base + "/webhooks", timeout=10).json())

    outcome = post(api, f"/webhooks/{webhook['webhookId']}/test").json()
    assert outcome["delivered"] is True and outcome["attempts"] == 1
    assert api.get(api.base + f"/webhooks/{webhook['webhookId']}").json()["status"] == "Healthy"

    [delivery] = loopback.received
    expected = base64.b64encode(hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest())
    assert delivery.headers["Spark-Signature"] == expected.decode()
    assert delivery.headers["X-Payload-Signature"] == expected.decode()
    event = json.loads(delivery.body)
    assert set(event) == {"notificationId", "eventId", "eventCreatedAtUtc",
                          "notificationSentUtc", "notificationType", "payload"}  # fmt: skip
    assert event["notificationId"] == outcome["notificationId"]
    assert event["payload"]["payloadType"] == "WebhookTest"


def test_a_failing_receiver_is_retried_three_times(api, spark, loopback):
    loopback.default = Answer(status=500)
    webhook = post(
        api,
        "/webhooks",
        {
            "url": loopback.url,
            "webhookSecret": "s",
            "operations": ["create"],
            "eventTypes": ["priceDelta"],
        },
    ).json()  # fmt: skip  (the guide's own field names)
    assert webhook["eventTypes"] == ["PriceDelta"] and webhook["operations"] == ["Create"]
    outcome = post(api, f"/webhooks/{webhook['webhookId']}/test").json()
    assert outcome == {**outcome, "delivered": False, "attempts": 4, "statusCode": 500}
    assert len(loopback.received) == 4
    assert api.delete(f"{api.base}/webhooks/{webhook['webhookId']}", timeout=10).status_code == 204
    assert spark.count("webhooks") == 0 and spark.count("deliveries") == 1


def test_webhook_validation(api):
    response = post(api, "/webhooks", {"webhookUrl": "ftp://x", "notificationTypes": ["Nope"]})
    assert set(response.json()["errors"]) == {"webhookUrl", "notificationTypes"}


def test_reports_as_the_guide_sends_them(api, spark, settings):
    settings.SPARK_REPORT_UNITS = "guide"  # the guide's example: a fraction and Wh
    report = {
        "eventId": str(uuid.uuid4()),
        "name": "Vehicle Started Charging",
        "payloads": [
            {"payloadType": "VehicleChargeAction", "resourceId": VEHICLE["vehicleId"],
             "location": {"latitude": 63.1, "longitude": 10.7}, "actionType": "Start",
             "power": 11000, "stateOfCharge": 0.5, "batteryCapacity": 75000},
        ],
    }  # fmt: skip
    answer = post(api, "/reports", report)
    assert answer.status_code == 200 and answer.json()["eventId"] == report["eventId"]
    assert answer.json()["id"] and answer.json()["createdAt"]
    bad = post(
        api, "/reports", {**report, "payloads": [{**report["payloads"][0], "stateOfCharge": 2}]}
    )
    assert "payloads[0].stateOfCharge" in bad.json()["errors"]
    assert spark.count("reports") == 1


# --- control side and trainer page -----------------------------------------------------


def test_control_needs_the_token_or_staff(spark, live_server):
    bare = requests.get(f"{spark.control}/state", timeout=10)
    assert bare.status_code == 403
    assert requests.post(f"{spark.control}/reset", timeout=10).status_code == 403


def test_trainer_page_lists_users_with_their_meters_vehicles_resources(
    api, spark, client, django_user_model
):
    user = new_user(api)
    post(api, f"/users/{user}/meters", METER)
    post(api, f"/users/{user}/vehicles", VEHICLE)
    post(api, f"/users/{user}/resources", TANK)
    login = client.get("/sandbox/spark/", HTTP_ACCEPT="text/html")
    assert login.status_code == 302

    staff = django_user_model.objects.create_user("trainer", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/sandbox/spark/").status_code == 403  # staff, but not a trainer
    staff.user_permissions.add(Permission.objects.get(codename="control_sandbox"))
    page = client.get("/sandbox/spark/").content.decode()
    for text in (user, METER["meterPointId"], "Tesla Model 3", VEHICLE["vehicleId"],
                 "HotWaterTank", "1750 W, 1250 W"):  # fmt: skip
        assert text in page
    assert "sandbox-secret" not in page
