"""Every method of the Zählerfreunde, smart-me, Climkit and zevvy clients that sends a
request, against its sandbox's `maintenance` switch (issue 14): a 200 with an HTML page
in place of the platform's answer is a TransientError, never a success; the page answers
before the platform's view runs, so nothing changed there; once it is gone the same call
works. Spark's methods are in test_spark_client_current.py."""

import inspect
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from providers.climkit.client import ClimkitClient
from providers.errors import TransientError
from providers.http import expect_no_content_or_json
from providers.ratelimit import BudgetSpec, shared_budget
from providers.sandbox_kit.endpoint import MAINTENANCE_PAGE
from providers.smartme.client import Credentials, SmartMeClient
from providers.tokens import MemoryTokenStore
from providers.zaehlerfreunde.client import ZaehlerfreundeClient
from providers.zevvy.client import ZevvyClient

from .climkit_support import ClimkitControl
from .conftest import SandboxControl
from .zevvy_helpers import ZevvySandbox

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "sandbox-secret"  # noqa: S105 - the sandbox default (conftest)
# Climkit's sandbox allows a call per 0.1 s; this budget spaces them 0.2 s apart.
CLIMKIT_BUDGET = BudgetSpec("climkit-answer-tests", per_seconds=0.1, margin_ms=100)
# Keys of a sandbox's state that change with any call, a refused one too.
VOLATILE = {"requests", "faults", "latency_ms", "rate_limit"}


def picture(state: dict) -> dict:
    """A sandbox's state without what every call changes (counters, tokens)."""
    shown = {k: v for k, v in state.items() if k not in VOLATILE}
    counts = state.get("counts", {})
    shown["counts"] = {k: v for k, v in counts.items() if not k.startswith("tokens_")}
    if "device_codes" in shown:  # zevvy: whether a code has expired is the clock's
        shown["device_codes"] = [
            {k: v for k, v in c.items() if k != "expired"} for c in shown["device_codes"]
        ]
    return shown


def page_then_answer(sandbox: SandboxControl, call, path: str):
    """The maintenance page for the one call to `path`: no success, nothing changed;
    then the same call is the platform's again. Returns what it answered."""
    before = picture(sandbox.state())
    sandbox.fault("maintenance", count=1, path=path)
    with pytest.raises(TransientError) as page:
        call()
    assert page.value.status == 200
    state = sandbox.state()
    assert state["faults"] == [], f"no call went to {path}"
    assert picture(state) == before
    return call()


def new_name() -> str:
    return uuid.uuid4().hex[:12]


# --- Zählerfreunde -----------------------------------------------------------------------

BUILDING = {
    "name": "Lindenhof",
    "category": "APARTMENT_BUILDING",
    "addressLineOne": "Lindenstrasse 5",
    "postcode": "8004",
    "city": "Zürich",
}
METER = {"deviceName": "Meter", "isMainDevice": True, "deviceType": "SMART_METER",
         "deviceMedium": "ELECTRICITY"}  # fmt: skip


def zaehlerfreunde_calls(sandbox: SandboxControl):
    """(name, prepare(client) → (call, the path it goes to)) for each client method."""

    def space(c) -> str:
        return c.create_space({**BUILDING, "name": new_name()})

    def device(c, where: str) -> str:
        return c.create_device(where, {**METER, "externalDeviceId": new_name()})

    def member(c, where: str) -> str:
        link = c.create_invite(where, {"sendInviteEmail": False, "userEmail": "mia@example.org"})
        token = link.rsplit("/", 1)[1]
        accepted = sandbox.http.post(
            f"{sandbox.control}/invites/{token}/accept", json={"name": "Mia"}, timeout=10
        )
        accepted.raise_for_status()
        return accepted.json()["userId"]

    def fetch_token(c):
        return (lambda: c.fetch_token()), "/auth/token"

    def ensure_token(c):
        def call():
            c.tokens.forget()
            c.ensure_token()

        return call, "/auth/token"

    def create_space(c):
        return (lambda: c.create_space(BUILDING)), "/spaces"

    def update_space(c):
        s = space(c)
        return (lambda: c.update_space(s, {"name": "Renamed"})), f"/spaces/{s}"

    def delete_space(c):
        s = space(c)
        return (lambda: c.delete_space(s)), f"/spaces/{s}"

    def list_spaces(c):
        space(c)
        return (lambda: list(c.list_spaces())), "/spaces"

    def create_device(c):
        s = space(c)
        return (lambda: c.create_device(s, METER)), f"/spaces/{s}/devices"

    def list_devices(c):
        s = space(c)
        device(c, s)
        return (lambda: list(c.list_devices(s))), f"/spaces/{s}/devices"

    def update_device_details(c):
        s = space(c)
        d = device(c, s)
        return (lambda: c.update_device_details(s, d, {"deviceName": "Renamed"})), (
            f"/devices/{d}/details"
        )

    def link_device(c):
        s, other = space(c), space(c)
        d = device(c, s)
        return (lambda: c.link_device(other, d)), f"/spaces/{other}/devices/{d}"

    def unlink_device(c):
        s, other = space(c), space(c)
        d = device(c, s)
        c.link_device(other, d)
        return (lambda: c.unlink_device(s, d)), f"/spaces/{s}/devices/{d}"

    def delete_device(c):
        d = device(c, space(c))
        return (lambda: c.delete_device(d)), f"/devices/{d}"

    def post_readings(c):
        d = device(c, space(c))
        at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        item = {"deviceId": d, "readings": [{"obisCode": "1.8.0", "timestamp": at, "value": 1}]}
        return (lambda: c.post_readings([item])), "/devices/readings"

    def create_invite(c):
        s = space(c)
        body = {"sendInviteEmail": True, "userEmail": "a@example.org"}
        return (lambda: c.create_invite(s, body)), f"/spaces/{s}/invites"

    def list_space_users(c):
        s = space(c)
        member(c, s)
        return (lambda: list(c.list_space_users(s))), f"/spaces/{s}/users"

    def add_space_user(c):
        s, other = space(c), space(c)
        user = member(c, s)
        role = c.list_access_roles()[0]["id"]
        return (lambda: c.add_space_user(other, user, role)), f"/spaces/{other}/users/"

    def remove_space_user(c):
        s = space(c)
        user = member(c, s)
        return (lambda: c.remove_space_user(s, user)), f"/spaces/{s}/users/"

    def remove_all_space_users(c):
        s = space(c)
        member(c, s)
        return (lambda: c.remove_all_space_users(s)), f"/spaces/{s}/users"

    def list_access_roles(c):
        return (lambda: c.list_access_roles()), "/access-roles"

    def check(c):
        return (lambda: c.check()), "/spaces"

    return [(f.__name__, f) for f in (
        fetch_token, ensure_token, create_space, update_space, delete_space, list_spaces,
        create_device, list_devices, update_device_details, link_device, unlink_device,
        delete_device, post_readings, create_invite, list_space_users, add_space_user,
        remove_space_user, remove_all_space_users, list_access_roles, check,
    )]  # fmt: skip


ZAEHLERFREUNDE = [name for name, _ in zaehlerfreunde_calls(None)]


@pytest.mark.parametrize("name", ZAEHLERFREUNDE)
def test_zaehlerfreunde_takes_no_maintenance_page_for_an_answer(sandbox, name):
    client = ZaehlerfreundeClient(
        f"{sandbox.base}/sandbox/zaehlerfreunde/partner", "portal-sandbox", SECRET, timeout=(2, 2)
    )
    call, path = dict(zaehlerfreunde_calls(sandbox))[name](client)
    client.ensure_token()
    page_then_answer(sandbox, call, path)


# --- smart-me ----------------------------------------------------------------------------


def smartme_calls():
    def gateway(c) -> str:
        return c.mbus_gateways()[0]["Id"]

    def token(c):
        # The token endpoint, reached by the first read of a client without a token.
        def call():
            c.tokens.forget()
            return c.list_devices()

        return call, "/oauth/token"

    def list_devices(c):
        return (lambda: c.list_devices()), "/Devices"

    def devices_by_energy(c):
        return (lambda: c.devices_by_energy(2)), "/DevicesByEnergy"

    def device(c):
        meter = c.mbus_gateway(gateway(c))["Meters"][0]["Id"]
        return (lambda: c.device(meter)), f"/Devices/{meter}"

    def mbus_gateways(c):
        return (lambda: c.mbus_gateways()), "/DevicesByEnergy"

    def mbus_gateway(c):
        g = gateway(c)
        return (lambda: c.mbus_gateway(g)), f"/gateway/mbus/{g}"

    def check(c):
        return (lambda: c.check()), "/DevicesByEnergy"

    return [(f.__name__, f) for f in (
        token, list_devices, devices_by_energy, device, mbus_gateways, mbus_gateway, check,
    )]  # fmt: skip


SMARTME = [name for name, _ in smartme_calls()]


@pytest.mark.parametrize("name", SMARTME)
def test_smartme_takes_no_maintenance_page_for_an_answer(portal, live_server, name):
    smartme = SandboxControl(live_server.url, "smartme")
    client = SmartMeClient(
        smartme.root,
        Credentials(client_id="portal-sandbox", client_secret=SECRET),
        timeout=(2, 2),
    )
    call, path = dict(smartme_calls())[name](client)
    page_then_answer(smartme, call, path)


# --- Climkit -----------------------------------------------------------------------------

DAY = {"start": datetime(2025, 3, 22, tzinfo=UTC), "end": datetime(2025, 3, 23, tzinfo=UTC)}


def climkit_calls():
    def site(c) -> str:
        return c.all_installations()[0]

    def meter(c, s: str) -> str:
        return next(m["id"] for m in c.meter_info(s) if m["physical"])

    def fetch_token(c):
        return (lambda: c.fetch_token()), "/auth"

    def all_installations(c):
        return (lambda: c.all_installations()), "/all_installations"

    def installation_infos(c):
        s = site(c)
        return (lambda: c.installation_infos(s)), f"/installation_infos/{s}"

    def meter_info(c):
        s = site(c)
        return (lambda: c.meter_info(s)), f"/meter_info/{s}"

    def site_data(c):
        s = site(c)
        return (lambda: c.site_data(s, "electricity", **DAY)), f"/site_data/{s}/"

    def meter_data(c):
        s = site(c)
        m = meter(c, s)
        return (lambda: c.meter_data(s, m, **DAY)), f"/meter_data/{s}/{m}"

    def meter_data_raw(c):
        s = site(c)
        m = meter(c, s)
        return (lambda: c.meter_data_raw(s, m, **DAY)), f"/meter_data_raw/{s}/{m}"

    def sensors_list(c):
        s = site(c)
        return (lambda: c.sensors_list(s)), f"/{s}/sensors_list"

    def sensor_data(c):
        s = site(c)
        sensor = c.sensors_list(s)[0]["id"]
        return (lambda: c.sensor_data(s, sensor, **DAY)), f"/{s}/sensor_data/{sensor}"

    def check(c):
        return (lambda: c.check()), "/all_installations"

    return [(f.__name__, f) for f in (
        fetch_token, all_installations, installation_infos, meter_info, site_data,
        meter_data, meter_data_raw, sensors_list, sensor_data, check,
    )]  # fmt: skip


CLIMKIT = [name for name, _ in climkit_calls()]


@pytest.mark.parametrize("name", CLIMKIT)
def test_climkit_takes_no_maintenance_page_for_an_answer(portal, live_server, name):
    climkit = ClimkitControl(live_server.url)
    climkit.rate_limit(CLIMKIT_BUDGET.per_seconds)
    client = ClimkitClient(
        climkit.api,
        "portal-sandbox",
        SECRET,
        acquire=shared_budget(CLIMKIT_BUDGET).acquire,
        timeout=(2, 2),
    )
    call, path = dict(climkit_calls())[name](client)
    page_then_answer(climkit, call, path)


# --- zevvy -------------------------------------------------------------------------------

TOKEN_PATH = "/openid-connect/token"  # noqa: S105 - a path


def zevvy_calls(zevvy: ZevvySandbox):
    def reference() -> str:
        return f"portal-device-{new_name()}"

    def approved(c):
        authorization = c.start_device_authorization()
        zevvy.decide(authorization.verification_uri_complete, "approve")
        return authorization

    def start_device_authorization(c):
        return (lambda: c.start_device_authorization()), "/auth/device"

    def poll_device_token(c):
        authorization = approved(c)
        return (lambda: c.poll_device_token(authorization, authorization.interval)), TOKEN_PATH

    def wait_for_device_token(c):
        authorization = approved(c)

        def call():
            return c.wait_for_device_token(
                authorization, sleep=lambda seconds: None, max_transient_failures=1
            )

        return call, TOKEN_PATH

    def ensure_token(c):
        # An access token about to expire: the refresh token renews it first.
        c.tokens._token = replace(c.tokens.load(), expires_at=time.time())
        return (lambda: c.ensure_token()), TOKEN_PATH

    def create_device(c):
        return (lambda: c.create_device("Wärmepumpe", reference())), "/api/devices"

    def get_device(c):
        d = c.create_device("Wärmepumpe", reference())["id"]
        return (lambda: c.get_device(d)), f"/api/devices/{d}"

    def update_device(c):
        d = c.create_device("Wärmepumpe", reference())["id"]
        return (lambda: c.update_device(d, "Wärmepumpe Keller")), f"/api/devices/{d}"

    def delete_device(c):
        d = c.create_device("Wärmepumpe", reference())["id"]
        return (lambda: c.delete_device(d)), f"/api/devices/{d}"

    def list_devices(c):
        c.create_device("Wärmepumpe", reference())
        return (lambda: list(c.list_devices())), "/api/devices"

    def find_device(c):
        ref = reference()
        c.create_device("Wärmepumpe", ref)
        return (lambda: c.find_device(ref)), "/api/devices"

    def bulk_create_measurements(c):
        at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        batch = [{"deviceName": "Ladestation", "registerName": "Energie", "readAt": at,
                  "value": 1.5}]  # fmt: skip
        return (lambda: c.bulk_create_measurements(batch)), "/measurements/_bulk_create"

    def bulk_create_measurements_by_ref(c):
        ref = reference()
        c.create_device("Wärmepumpe", ref)
        at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        readings = [{"readAt": at, "value": 10}, {"readAt": at + timedelta(hours=1), "value": 11}]
        return (lambda: c.bulk_create_measurements_by_ref(ref, "1-0:1.8.0", readings)), (
            f"/deviceRef/{ref}/"
        )

    def check(c):
        return (lambda: c.check()), "/api/devices"

    return [(f.__name__, f) for f in (
        start_device_authorization, poll_device_token, wait_for_device_token, ensure_token,
        create_device, get_device, update_device, delete_device, list_devices, find_device,
        bulk_create_measurements, bulk_create_measurements_by_ref, check,
    )]  # fmt: skip


ZEVVY = [name for name, _ in zevvy_calls(None)]
# Before a person approves, the client has no grant to call the API with.
ZEVVY_DEVICE_FLOW = {"start_device_authorization", "poll_device_token", "wait_for_device_token"}


@pytest.mark.parametrize("name", ZEVVY)
def test_zevvy_takes_no_maintenance_page_for_an_answer(portal, live_server, name):
    zevvy = ZevvySandbox(live_server.url)
    zevvy.device_flow(interval=1)
    client = ZevvyClient(
        zevvy.api,
        "portal-sandbox",
        SECRET,
        token_url=zevvy.token_url,
        device_authorization_url=zevvy.device_authorization_url,
        token_store=MemoryTokenStore(),
        timeout=(2, 2),
        allow_http_loopback=True,  # the embedded sandbox's verification links are http
    )
    if name not in ZEVVY_DEVICE_FLOW:
        authorization = client.start_device_authorization()
        zevvy.decide(authorization.verification_uri_complete, "approve")
        client.wait_for_device_token(authorization)
    call, path = dict(zevvy_calls(zevvy))[name](client)
    page_then_answer(zevvy, call, path)


# --- every method is covered -------------------------------------------------------------

COVERED = {
    ZaehlerfreundeClient: ZAEHLERFREUNDE,
    SmartMeClient: SMARTME,
    ClimkitClient: CLIMKIT,
    ZevvyClient: ZEVVY,
}
# Cases that are not a method of their own: the token endpoint, which a read reaches.
NOT_METHODS = {SmartMeClient: {"token"}}


@pytest.mark.parametrize("cls", list(COVERED), ids=lambda cls: cls.__name__)
def test_every_method_that_sends_a_request_meets_the_maintenance_page(cls):
    public = {name for name, _ in inspect.getmembers(cls, inspect.isfunction)}
    public = {name for name in public if not name.startswith("_")}
    cases = set(COVERED[cls]) - NOT_METHODS.get(cls, set())
    assert public - cases == set(), "each of these needs a case above"
    assert cases - public == set(), "these cases name no method (renamed?)"


# --- the helper itself -------------------------------------------------------------------


def answer(status: int, body: bytes = b"", content_type: str | None = None):
    response = requests.Response()
    response.status_code = status
    response._content = body
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


@pytest.mark.parametrize(
    "response",
    [
        answer(204),
        answer(200),
        answer(200, b"", "text/html"),
        answer(200, b'{"id": "d-1", "name": "x"}', "application/json; charset=utf-8"),
        answer(201, b'{"created": 2}', "application/json"),
        answer(200, b"[]", "application/problem+json"),
    ],
    ids=["204", "200-empty", "200-empty-html", "200-json", "201-json", "200-json-suffix"],
)
def test_no_content_or_json_is_the_platforms_answer(response):
    expect_no_content_or_json(response)


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (answer(200, MAINTENANCE_PAGE.encode(), "text/html; charset=utf-8"), "Maintenance"),
        (answer(200, b"OK", "text/plain"), "OK"),
        (answer(200, b'{"id": "d-', "application/json"), '{"id": "d-'),
        (answer(200, b'{"id": "d-1"}'), '{"id": "d-1"}'),
    ],
    ids=["html-page", "text", "cut-off-json", "json-without-type"],
)
def test_anything_else_is_a_transient_failure(response, words):
    with pytest.raises(TransientError) as odd:
        expect_no_content_or_json(response)
    assert "instead of no content or JSON" in odd.value.message
    assert words in odd.value.message and odd.value.status == 200
