"""The bare Spark client in the current form (SPARK_API=current) against the sandbox, and
every client method of both forms against the sandbox's maintenance switch (a 200 with an
HTML page is not Spark's answer), a gateway's 502, and a 502 whose connection closes
before its body is complete."""

import socket
import threading
import uuid

import pytest

from providers.errors import NotFoundError, PermanentError, TransientError
from providers.spark.client import ConflictError
from providers.spark.client_current import CurrentClient
from providers.spark.client_guide import GuideClient

pytestmark = pytest.mark.django_db(transaction=True)
POINT = "CH1012301234500000000000000012345"


def make(spark, cls=CurrentClient, **options):
    return cls(
        f"{spark.root}/energy-coordination/v1",
        f"{spark.root}/identity/connect/token",
        "portal-sandbox",
        "sandbox-secret",
        timeout=(2, 2),
        **options,
    )


@pytest.fixture
def client(spark) -> CurrentClient:
    return make(spark)


def new_id() -> str:
    return str(uuid.uuid4())


def location_body(location_id: str, **fields) -> dict:
    return {"locationId": location_id, "locationType": "Residential", "meterPointIds": [POINT],
            **fields}  # fmt: skip


# --- the current form ------------------------------------------------------------------


def test_users_locations_vehicles_resources_by_our_ids(client, spark):
    user, where, car, tank = new_id(), new_id(), new_id(), new_id()
    assert client.create_user(user) == {"userId": user}
    assert client.create_user(user) == {"userId": user}  # 200: there already, nothing new
    assert client.get_user(user) == {"userId": user}

    made = client.create_location(user, location_body(where))
    assert made["locationId"] == where and made["userId"] == user
    with pytest.raises(ConflictError):  # the spec's 409 for a location made twice
        client.create_location(user, location_body(where))
    client.replace_location(user, where, location_body(where, locationType="Commercial"))
    assert client.get_location(user, where)["locationType"] == "Commercial"
    assert [x["locationId"] for x in client.list_locations(user)] == [where]

    client.create_vehicle(user, car)
    client.create_vehicle(user, car)  # 200 again
    body = {"resourceId": tank, "resourceType": "HotWaterTank", "meterPointId": POINT}
    assert client.create_resource(user, where, body)["locationId"] == where
    assert client.get_resource(tank)["userId"] == user
    assert {r["resourceId"] for r in client.list_resources(user)} == {car, tank}

    client.delete_resource(tank)
    client.delete_resource(car)
    with pytest.raises(NotFoundError):
        client.get_resource(tank)
    client.delete_location(user, where)
    client.delete_user(user)
    with pytest.raises(NotFoundError):
        client.get_user(user)
    counts = spark.state()["counts"]
    assert counts["users"] == 0 and counts["refused_bodies"] == 0


def test_a_body_the_spec_refuses_is_the_platforms_message(client, spark):
    user = new_id()
    client.create_user(user)
    with pytest.raises(PermanentError) as refused:
        client.create_location(user, {**location_body(new_id()), "address": {"city": "Bern"}})
    assert refused.value.status == 400
    assert "Additional properties are not allowed ('address' was unexpected)" in str(refused.value)


def test_an_answer_naming_another_id_is_not_ours(client, spark, loopback):
    from .loopback import Answer

    token = Answer(200, '{"access_token": "a", "token_type": "Bearer"}', {})
    loopback.answer(token, Answer(201, '{"userId": "someone-else"}', JSON))
    other = CurrentClient(loopback.url + "/v1", loopback.url + "/token", "id", "secret")
    with pytest.raises(TransientError, match="instead of JSON with 'userId' u-1"):
        other.create_user("u-1")


JSON = {"Content-Type": "application/json"}


# --- every method, a maintenance page in place of its answer (issue 14) ----------------


def _user(client) -> str:
    if isinstance(client, CurrentClient):
        user = new_id()
        client.create_user(user)
        return user
    return client.create_user()


def _located(client):
    user = _user(client)
    where = new_id()
    client.create_location(user, location_body(where))
    return user, where


def _vehicle(client, user) -> str:
    car = new_id()
    if isinstance(client, CurrentClient):
        client.create_vehicle(user, car)
    else:
        client.create_vehicle(user, {"vehicleId": car, "metadata": {"brand": "T", "model": "3"}})
    return car


GUIDE_METER = {
    "address": {"street": "Lindenstrasse 5", "city": "Zürich", "zipCode": "8004"},
    "meterPointId": POINT,
}
GUIDE_TANK = {"metadata": {"resourceType": "HotWaterTank"}}


def current_calls():
    """(name, prepare(client) → (call, path the call goes to)) for each current method."""

    def create_user(c):
        user = new_id()
        return (lambda: c.create_user(user)), "/users"

    def get_user(c):
        user = _user(c)
        return (lambda: c.get_user(user)), f"/users/{user}"

    def delete_user(c):
        user = _user(c)
        return (lambda: c.delete_user(user)), f"/users/{user}"

    def create_location(c):
        user = _user(c)
        return (lambda: c.create_location(user, location_body(new_id()))), "/locations"

    def get_location(c):
        user, where = _located(c)
        return (lambda: c.get_location(user, where)), f"/locations/{where}"

    def list_locations(c):
        user, _ = _located(c)
        return (lambda: c.list_locations(user)), f"/users/{user}/locations"

    def replace_location(c):
        user, where = _located(c)
        return (lambda: c.replace_location(user, where, location_body(where))), where

    def delete_location(c):
        user, where = _located(c)
        return (lambda: c.delete_location(user, where)), f"/locations/{where}"

    def create_vehicle(c):
        user = _user(c)
        return (lambda: c.create_vehicle(user, new_id())), "/vehicles"

    def create_resource(c):
        user, where = _located(c)
        body = {"resourceId": new_id(), "resourceType": "HVAC"}
        return (lambda: c.create_resource(user, where, body)), f"/locations/{where}/resources"

    def get_resource(c):
        car = _vehicle(c, _user(c))
        return (lambda: c.get_resource(car)), f"/resources/{car}"

    def list_resources(c):
        user = _user(c)
        return (lambda: c.list_resources(user)), f"/users/{user}/resources"

    def delete_resource(c):
        car = _vehicle(c, _user(c))
        return (lambda: c.delete_resource(car)), f"/resources/{car}"

    return [(f.__name__, f) for f in (
        create_user, get_user, delete_user, create_location, get_location, list_locations,
        replace_location, delete_location, create_vehicle, create_resource, get_resource,
        list_resources, delete_resource,
    )]  # fmt: skip


def guide_calls():
    def create_user(c):
        return (lambda: c.create_user()), "/users"

    def get_user(c):
        user = _user(c)
        return (lambda: c.get_user(user)), f"/users/{user}"

    def list_users(c):
        _user(c)
        return (lambda: list(c.list_users())), "/users"

    def update_user(c):
        user = _user(c)
        return (lambda: c.update_user(user, {})), f"/users/{user}"

    def delete_user(c):
        user = _user(c)
        return (lambda: c.delete_user(user)), f"/users/{user}"

    def create_meter(c):
        user = _user(c)
        return (lambda: c.create_meter(user, GUIDE_METER)), "/meters"

    def list_meters(c):
        user = _user(c)
        return (lambda: c.list_meters(user)), "/meters"

    def delete_meter(c):
        user = _user(c)
        meter = c.create_meter(user, GUIDE_METER)
        return (lambda: c.delete_meter(user, meter)), f"/meters/{meter}"

    def create_vehicle(c):
        user = _user(c)
        body = {"vehicleId": new_id(), "metadata": {"brand": "T", "model": "3"}}
        return (lambda: c.create_vehicle(user, body)), "/vehicles"

    def list_vehicles(c):
        user = _user(c)
        return (lambda: c.list_vehicles(user)), "/vehicles"

    def delete_vehicle(c):
        user = _user(c)
        car = _vehicle(c, user)
        return (lambda: c.delete_vehicle(user, car)), f"/vehicles/{car}"

    def create_resource(c):
        user = _user(c)
        return (lambda: c.create_resource(user, {"resourceId": new_id(), **GUIDE_TANK})), (
            "/resources"
        )

    def list_resources(c):
        user = _user(c)
        return (lambda: c.list_resources(user)), "/resources"

    def delete_resource(c):
        user = _user(c)
        tank = new_id()
        c.create_resource(user, {"resourceId": tank, **GUIDE_TANK})
        return (lambda: c.delete_resource(user, tank)), f"/resources/{tank}"

    return [(f.__name__, f) for f in (
        create_user, get_user, list_users, update_user, delete_user, create_meter,
        list_meters, delete_meter, create_vehicle, list_vehicles, delete_vehicle,
        create_resource, list_resources, delete_resource,
    )]  # fmt: skip


def shared_calls(loopback_url: str):
    def webhook(c) -> str:
        return c.create_webhook(loopback_url, "s3cret", name=new_id())["webhookId"]

    def create_webhook(c):
        return (lambda: c.create_webhook(loopback_url, "s3cret", name="w")), "/webhooks"

    def list_webhooks(c):
        return (lambda: c.list_webhooks()), "/webhooks"

    def update_webhook(c):
        hook = webhook(c)
        return (lambda: c.update_webhook(hook, webhookSecret="new")), f"/webhooks/{hook}"

    def delete_webhook(c):
        hook = webhook(c)
        return (lambda: c.delete_webhook(hook)), f"/webhooks/{hook}"

    def test_webhook(c):
        hook = webhook(c)
        return (lambda: c.test_webhook(hook)), f"/webhooks/{hook}/test"

    def list_events(c):
        return (lambda: c.list_events()), "/events"

    def create_report(c):
        charge = {
            "payloadType": "VehicleChargeAction",
            "resourceId": new_id(),
            "location": {"latitude": 1.0, "longitude": 2.0},
            "actionType": "Start",
        }
        return (lambda: c.create_report({"payloads": [charge]})), "/reports"

    def check(c):
        return (lambda: c.check()), "/energy-coordination/v1/users"

    return [(f.__name__, f) for f in (
        create_webhook, list_webhooks, update_webhook, delete_webhook, test_webhook,
        list_events, create_report, check,
    )]  # fmt: skip


CALLS = (
    [("current", name, prepare) for name, prepare in current_calls()]
    + [("guide", name, prepare) for name, prepare in guide_calls()]
    + [(form, name, None) for form in ("current", "guide") for name, _ in shared_calls("")]
)


@pytest.mark.parametrize(("form", "name", "prepare"), CALLS, ids=[f"{f}-{n}" for f, n, _ in CALLS])
def test_a_maintenance_page_is_no_answer_of_sparks(spark, settings, loopback, form, name, prepare):
    settings.SPARK_API = form
    client = make(spark, CurrentClient if form == "current" else GuideClient)
    if prepare is None:
        prepare = dict(shared_calls(loopback.url + "/hook"))[name]
    call, path = prepare(client)
    client.ensure_token()
    before = {k: v for k, v in spark.state()["counts"].items() if k != "tokens_valid"}
    spark.fault("maintenance", count=1, path=path)
    with pytest.raises(TransientError) as page:
        call()
    assert "HTTP 200 (text/html) instead of" in page.value.message
    assert "Maintenance" in page.value.message
    # A proxy's page proves Spark's API never saw the request: no look-up needed.
    assert page.value.request_may_have_arrived is False
    after = {k: v for k, v in spark.state()["counts"].items() if k != "tokens_valid"}
    assert after == before  # nothing was done (check() fetches a token: not counted)
    call()  # the page is gone: the same call is Spark's again


# --- gateways --------------------------------------------------------------------------


def test_a_502_proves_nothing_arrived_a_500_does_not(client, spark):
    spark.fault("error", count=1, status=502, path="/users")
    with pytest.raises(TransientError) as gateway:
        client.create_user(new_id())
    assert gateway.value.status == 502 and gateway.value.request_may_have_arrived is False
    spark.fault("error", count=1, status=500, path="/users")
    with pytest.raises(TransientError) as failed:
        client.create_user(new_id())
    assert failed.value.status == 500 and failed.value.request_may_have_arrived is True


class ClosingGateway:
    """Answers each request with a 502 whose body breaks off: the status line and headers
    (Content-Length 500), a few bytes, then the connection closes. No HTTP server library
    answers like this on purpose, which is why the test has its own socket."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.requests += 1
                if self.requests == 1:  # the token
                    body = b'{"access_token": "a", "token_type": "Bearer", "expires_in": 60}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                    )
                else:
                    conn.sendall(
                        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                        b"Content-Length: 500\r\n\r\n<html><body>Bad gat"
                    )

    def stop(self):
        self.sock.close()


def test_a_502_whose_connection_closes_mid_body_is_still_a_502():
    gateway = ClosingGateway()
    try:
        client = CurrentClient(gateway.url + "/v1", gateway.url + "/token", "id", "s")
        with pytest.raises(TransientError) as closed:
            client.create_user(new_id())
    finally:
        gateway.stop()
    assert closed.value.status == 502
    assert closed.value.request_may_have_arrived is False
