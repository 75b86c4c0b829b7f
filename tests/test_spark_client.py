"""The bare Spark client (no Django in it) against the sandbox over HTTP, and against a
loopback server standing in for other standards-compliant (or misbehaving) servers: the
guide's form (SPARK_API=guide) and what both forms share. test_spark_client_current.py
has the current form."""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import pytest

from providers.errors import AuthError, NotFoundError, PermanentError, TransientError
from providers.http import CallRecord
from providers.spark.client import ConflictError
from providers.spark.client_guide import GuideClient

from .loopback import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("spark_guide")]
JSON = {"Content-Type": "application/json"}
METER = {
    "address": {"street": "Lindenstrasse 5", "city": "Zürich", "zipCode": "8004"},
    "meterPointId": "CH1012301234500000000000000012345",
    "locationType": "Residential",
}
VEHICLE = {
    "vehicleId": "9d1c1f2e-1111-4a4a-9c9c-000000000001",
    "metadata": {"resourceType": "Vehicle", "brand": "Tesla", "model": "Model 3", "year": 2022},
}
TANK = {
    "resourceId": "7a7a7a7a-2222-4b4b-8d8d-000000000001",
    "metadata": {"resourceType": "HotWaterTank", "capacity": 500, "heatingElements": [1750]},
}
TOKEN_OK = Answer(
    200,
    json.dumps({"access_token": "abc", "token_type": "Bearer", "expires_in": 120}),
    {"Content-Type": "application/json"},
)


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def client(spark, calls) -> GuideClient:
    return GuideClient(
        f"{spark.root}/energy-coordination/v1",
        f"{spark.root}/identity/connect/token",
        "portal-sandbox",
        "sandbox-secret",
        timeout=(2, 2),
        on_call=calls.append,
    )


def trail(calls) -> list[tuple[str, str, int | None]]:
    return [(c.method, c.path, c.status) for c in calls]


def other_vendor(loopback, **options) -> GuideClient:
    """A client whose identity server and API are the loopback server."""
    return GuideClient(
        loopback.url + "/v1",
        loopback.url + "/oauth2/token",
        "id",
        "secret",
        timeout=(2, 2),
        **options,
    )


# --- the API -------------------------------------------------------------------------


def test_users_meters_vehicles_resources_created_listed_and_deleted(client, spark):
    users = [client.create_user() for _ in range(103)]
    assert [u["userId"] for u in client.list_users()] == users  # two pages of 100

    user = users[0]
    meter = client.create_meter(user, METER)
    client.create_vehicle(user, VEHICLE)
    client.create_resource(user, TANK)
    assert [m["meterId"] for m in client.list_meters(user)] == [meter]
    assert [v["vehicleId"] for v in client.list_vehicles(user)] == [VEHICLE["vehicleId"]]
    assert {r["resourceId"] for r in client.list_resources(user)} == {
        VEHICLE["vehicleId"],
        TANK["resourceId"],
    }
    assert client.get_user(user)["userId"] == user

    client.delete_meter(user, meter)
    client.delete_vehicle(user, VEHICLE["vehicleId"])
    client.delete_resource(user, TANK["resourceId"])
    with pytest.raises(NotFoundError):
        client.delete_resource(user, TANK["resourceId"])
    client.delete_user(user)
    with pytest.raises(NotFoundError):
        client.get_user(user)
    assert spark.count("users") == 102


def test_a_400_carries_the_platforms_field_messages(client):
    user = client.create_user()
    with pytest.raises(PermanentError) as refused:
        client.create_meter(user, {**METER, "address": {"street": "Weg 1", "city": "Bern"}})
    assert refused.value.status == 400
    assert "address.zipCode: The zipCode field is required." in refused.value.message


def test_a_repeated_key_is_a_conflict(client):
    user = client.create_user()
    client.create_vehicle(user, VEHICLE)
    with pytest.raises(ConflictError, match="vehicleId"):
        client.create_vehicle(client.create_user(), VEHICLE)


# --- tokens ----------------------------------------------------------------------------


def test_token_cached_for_its_lifetime_and_never_logged(client, calls):
    client.create_user()
    client.create_user()
    assert trail(calls).count(("POST", "/sandbox/spark/identity/connect/token", 200)) == 1
    token = client.tokens.load()
    assert 30 * 60 - 5 < token.expires_at - time.time() <= 30 * 60  # expires_in respected

    token_call = calls[0]
    assert token_call.path == "/sandbox/spark/identity/connect/token"
    assert "client_credentials" in token_call.request_body
    assert "sandbox-secret" not in token_call.request_body
    assert (
        token.value not in token_call.response_body and "access_token" in token_call.response_body
    )
    assert all(token.value not in c.request_body + c.response_body for c in calls)


def test_an_expired_token_gets_one_refresh_then_the_call_succeeds(client, spark, calls):
    client.create_user()
    spark.expire_tokens()  # the cached token still looks fresh to the client
    client.create_user()
    assert trail(calls)[-3:] == [
        ("POST", "/users", 401),
        ("POST", "/sandbox/spark/identity/connect/token", 200),
        ("POST", "/users", 201),
    ]
    assert spark.count("users") == 2


def test_a_401_after_a_fresh_token_is_an_auth_error(client, spark, calls):
    client.create_user()
    spark.fault("error", count=2, status=401, path="/users")
    with pytest.raises(AuthError):
        client.create_user()
    assert [c for c in trail(calls) if c[1] == "/users"][-2:] == [
        ("POST", "/users", 401),
        ("POST", "/users", 401),
    ]
    assert trail(calls).count(("POST", "/sandbox/spark/identity/connect/token", 200)) == 2


def test_a_403_fails_that_object_not_the_platform(client, spark):
    user = client.create_user()
    spark.fault("error", count=1, status=403, path="/vehicles")
    with pytest.raises(PermanentError) as forbidden:
        client.create_vehicle(user, VEHICLE)
    assert not isinstance(forbidden.value, AuthError) and forbidden.value.status == 403


def test_wrong_secret_is_an_auth_error_with_the_servers_description(client):
    client.identity.client_secret = "wrong"
    with pytest.raises(AuthError) as refused:
        client.create_user()
    assert "invalid_client" in refused.value.message
    assert "Client authentication failed" in refused.value.message


def test_unreachable_identity_server_and_missing_settings(calls):
    dead = GuideClient("http://127.0.0.1:1/v1", "http://127.0.0.1:1/connect/token", "id", "s")
    with pytest.raises(TransientError) as unreachable:
        dead.check()
    assert unreachable.value.message.startswith(
        "Spark's identity server at 127.0.0.1:1 unreachable"
    )
    assert unreachable.value.request_may_have_arrived is False

    for token_url, client_id in (("", "id"), ("http://127.0.0.1:1/t", "")):
        incomplete = GuideClient("http://127.0.0.1:1/v1", token_url, client_id, "s")
        with pytest.raises(AuthError, match="no token URL|no client id"):
            incomplete.check()


def test_check_always_fetches_a_fresh_token(client, spark, calls):
    client.check()
    client.check()
    assert (
        trail(calls)
        == [
            ("POST", "/sandbox/spark/identity/connect/token", 200),
            ("GET", "/users", 200),
        ]
        * 2
    )


# --- failures --------------------------------------------------------------------------


def test_429_with_retry_after_and_500s_are_transient(client, spark):
    user = client.create_user()
    spark.fault("rate_limit", count=1, retry_after=7)
    with pytest.raises(TransientError) as limited:
        client.create_meter(user, METER)
    assert limited.value.retry_after == 7 and not limited.value.request_may_have_arrived

    spark.fault("error", count=1, status=500)
    with pytest.raises(TransientError) as failed:
        client.create_meter(user, METER)
    assert failed.value.status == 500 and failed.value.request_may_have_arrived
    assert spark.count("meters") == 0
    client.create_meter(user, METER)
    assert spark.count("meters") == 1


def test_a_timeout_after_the_sandbox_created_it_is_found_not_repeated(client, spark):
    user = client.create_user()
    spark.fault("timeout", count=1, delay=3, path="/vehicles")
    with pytest.raises(TransientError, match="ReadTimeout") as lost:
        client.create_vehicle(user, VEHICLE)
    assert lost.value.request_may_have_arrived
    # What the outbox does next: look by the key we chose, and find it.
    assert [v["vehicleId"] for v in client.list_vehicles(user)] == [VEHICLE["vehicleId"]]
    with pytest.raises(ConflictError):  # and a blind repeat could not duplicate it
        client.create_vehicle(user, VEHICLE)
    assert spark.count("vehicles") == 1


# --- any compliant server, and some that are not --------------------------------------


def test_client_credentials_as_rfc_6749_has_them(loopback):
    loopback.answer(
        Answer(200, json.dumps({"access_token": "abc", "token_type": "bearer"})),  # no expiry
        Answer(201, json.dumps({"userId": "u1"}), JSON),
    )
    client = other_vendor(loopback, scope="energy")
    assert client.create_user() == "u1"
    token_request, api_request = loopback.received
    assert token_request.path == "/oauth2/token"
    assert token_request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(token_request.body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["energy"],
        "client_id": ["id"],
        "client_secret": ["secret"],
    }
    assert api_request.headers["Authorization"] == "Bearer abc"
    # No expires_in: the guide's 30 minutes.
    assert 30 * 60 - 5 < client.tokens.load().expires_at - time.time() <= 30 * 60

    loopback.answer(TOKEN_OK)
    client.tokens.refresh(client.fetch_token, stale=client.tokens.load())
    assert 115 < client.tokens.load().expires_at - time.time() <= 120  # expires_in honoured


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (Answer(401, json.dumps({"error": "invalid_client",
                                 "error_description": "Client inconnu – vérifiez l’identifiant"})),
         AuthError, "invalid_client (Client inconnu – vérifiez l’identifiant)"),
        (Answer(400, json.dumps({"error": "unauthorized_client"})), AuthError,
         "unauthorized_client"),
        (Answer(400, json.dumps({"error": "invalid_scope"})), AuthError, "invalid_scope"),
        (Answer(503, json.dumps({"error": "temporarily_unavailable"})), TransientError, "503"),
        (Answer(429, "slow down", {"Retry-After": "30"}), TransientError, "429"),
        # An odd answer of the token endpoint is never quoted: a token may hide in it.
        (Answer(200, "<html>Login</html>"), TransientError, "without an access token: HTTP 200"),
        (Answer(404, "<html>Not here</html>"), AuthError, "answered HTTP 404 ("),
        (Answer(200, json.dumps({"access_token": "a", "token_type": "mac"})), AuthError, "mac"),
    ],
)  # fmt: skip
def test_token_answers_become_typed_errors(loopback, answer, error, text):
    loopback.answer(answer)
    with pytest.raises(error) as raised:
        other_vendor(loopback).create_user()
    assert text in raised.value.message
    assert [r.path for r in loopback.received] == ["/oauth2/token"]  # the API was not called


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (Answer(200, "<html><body>Down for maintenance</body></html>",
                {"Content-Type": "text/html"}),
         "HTTP 200 (text/html) instead of JSON with 'userId': <html><body>Down for maintenance"),
        (Answer(201, json.dumps({"id": "x"}), {"Content-Type": "application/json"}),
         "HTTP 201 (application/json) instead of JSON with 'userId': {\"id\": \"x\"}"),
    ],
)  # fmt: skip
def test_a_2xx_that_is_not_what_the_guide_promises_is_transient(loopback, answer, text):
    loopback.answer(TOKEN_OK, answer)
    with pytest.raises(TransientError) as raised:
        other_vendor(loopback).create_user()
    assert text in raised.value.message


# --- webhooks and reports --------------------------------------------------------------


@pytest.mark.parametrize("fields", ["current", "guide"])
def test_webhooks_created_tested_listed_deleted(spark, loopback, calls, fields):
    client = GuideClient(
        f"{spark.root}/energy-coordination/v1",
        f"{spark.root}/identity/connect/token",
        "portal-sandbox",
        "sandbox-secret",
        webhook_fields=fields,
        on_call=calls.append,
    )
    webhook = client.create_webhook(loopback.url + "/webhooks/spark/", "s3cret", name="portal")
    webhook_id = webhook["webhookId"]
    assert [w["webhookId"] for w in client.list_webhooks()] == [webhook_id]
    assert all("s3cret" not in c.request_body + c.response_body for c in calls)

    outcome = client.test_webhook(webhook_id)
    assert outcome["delivered"] is True
    [event] = loopback.received
    signature = base64.b64encode(hmac.new(b"s3cret", event.body, hashlib.sha256).digest())
    assert event.headers["X-Payload-Signature"] == signature.decode()
    assert json.loads(event.body)["notificationId"] == outcome["notificationId"]

    client.delete_webhook(webhook_id)
    assert client.list_webhooks() == []
    with pytest.raises(NotFoundError):
        client.test_webhook(webhook_id)


def test_reports(client, spark):
    report = client.create_report(
        {
            "eventId": "e-1",
            "name": "Vehicle Started Charging",
            "payloads": [
                {"payloadType": "VehicleChargeAction", "resourceId": VEHICLE["vehicleId"],
                 "actionType": "Start", "power": 11000, "stateOfCharge": 0.5,
                 "batteryCapacity": 75000},
            ],
        }
    )  # fmt: skip
    assert report["eventId"] == "e-1" and report["id"]
    assert spark.count("reports") == 1
