"""The bare zevvy client (no Django in it) against the sandbox over real HTTP: the
device flow, refresh, typed errors, devices and measurements."""

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from providers.device_flow import DEFAULT_POLL_INTERVAL_SECONDS
from providers.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    ReconnectRequired,
    TransientError,
)
from providers.http import CallRecord
from providers.tokens import MemoryTokenStore, Token
from providers.zevvy.client import (
    AuthorizationPending,
    DeviceFlowEnded,
    ZevvyClient,
)

from .zevvy_helpers import ZevvySandbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def zevvy(portal, live_server) -> ZevvySandbox:
    sandbox = ZevvySandbox(live_server.url)
    sandbox.device_flow(interval=1)  # a second between polls keeps the tests quick
    return sandbox


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


def make_client(zevvy, calls, *, secret=None, store=None, base=None) -> ZevvyClient:
    return ZevvyClient(
        base or zevvy.api,
        "portal-sandbox",
        secret or "sandbox-secret",
        token_url=zevvy.token_url,
        device_authorization_url=zevvy.device_authorization_url,
        token_store=store or MemoryTokenStore(),
        timeout=(2, 2),
        on_call=calls.append,
        allow_http_loopback=True,  # the embedded sandbox's verification links are http
    )


@pytest.fixture
def client(zevvy, calls) -> ZevvyClient:
    return make_client(zevvy, calls)


def connect(client: ZevvyClient, zevvy: ZevvySandbox) -> Token:
    authorization = client.start_device_authorization()
    zevvy.decide(authorization.verification_uri_complete, "approve")
    return client.wait_for_device_token(authorization)


@pytest.fixture
def connected(client, zevvy) -> ZevvyClient:
    connect(client, zevvy)
    return client


def logged(calls) -> str:
    return "\n".join(f"{c.path} {c.request_body} {c.response_body}" for c in calls)


# --- the device flow ----------------------------------------------------------------------


def test_device_flow_end_to_end_stores_tokens_and_logs_no_secret(client, zevvy, calls):
    authorization = client.start_device_authorization()
    assert authorization.verification_uri == f"{zevvy.realm}/device"
    assert authorization.verification_uri_complete.endswith(f"?user_code={authorization.user_code}")
    assert authorization.interval == 1
    assert 590 < authorization.expires_at - time.time() <= 600
    assert authorization.device_code not in repr(authorization)

    with pytest.raises(AuthorizationPending) as pending:
        client.poll_device_token(authorization, authorization.interval)
    assert pending.value.interval == 1 and not pending.value.slow_down

    page = zevvy.decide(authorization.verification_uri_complete, "approve")
    assert "Access granted" in page
    token = client.wait_for_device_token(authorization)
    assert token.refresh_token and token.value
    assert token.refresh_expires_at is None  # an offline token: Keycloak gives no expiry
    assert 290 < token.expires_at - time.time() <= 300
    assert client.tokens.load() == token
    state = zevvy.state()
    assert state["counts"]["grants_active"] == 1
    assert state["grants"][0]["scope"] == "offline_access measurement register device"

    # The API works with it.
    assert client.create_device("Wärmepumpe", "portal-device-1")["id"]
    # Neither the codes nor the tokens nor the secret reach the call log in clear.
    text = logged(calls)
    for secret in (
        authorization.device_code,
        authorization.user_code,
        token.value,
        token.refresh_token,
        "sandbox-secret",
    ):
        assert secret not in text
    assert '"device_code": "***"' in text and '"refresh_token": "***"' in text


def test_a_second_exchange_of_the_same_code_is_refused(client, zevvy):
    authorization = client.start_device_authorization()
    zevvy.decide(authorization.verification_uri_complete)
    client.wait_for_device_token(authorization)
    time.sleep(1)
    with pytest.raises(DeviceFlowEnded) as ended:
        client.poll_device_token(authorization, 1)
    assert ended.value.error == "invalid_grant"


def test_polling_too_fast_gets_slow_down_and_the_client_adds_five_seconds(client, zevvy):
    authorization = client.start_device_authorization()
    with pytest.raises(AuthorizationPending):
        client.poll_device_token(authorization, 1)
    with pytest.raises(AuthorizationPending) as slow:
        client.poll_device_token(authorization, 1)  # at once: too fast
    assert slow.value.slow_down and slow.value.interval == 6

    # The loop keeps the new pace: no second slow_down while it waits for the approval.
    zevvy.decide(authorization.verification_uri_complete)
    waits = []
    started = time.monotonic()
    client.wait_for_device_token(
        authorization.__class__(**{**authorization.__dict__, "interval": 6}),
        sleep=lambda s: (waits.append(s), time.sleep(s)),
    )
    assert waits == [6] and time.monotonic() - started >= 6
    code = zevvy.state()["device_codes"][0]
    assert code["slow_downs"] == 1 and code["status"] == "used"


def test_an_answer_without_interval_means_five_seconds(client, zevvy):
    zevvy.device_flow(interval=0)
    authorization = client.start_device_authorization()
    assert authorization.interval == DEFAULT_POLL_INTERVAL_SECONDS == 5
    # The server holds the client to it: a poll one second after the last is too soon.
    with pytest.raises(AuthorizationPending):
        client.poll_device_token(authorization, 5)
    time.sleep(1)
    with pytest.raises(AuthorizationPending) as slow:
        client.poll_device_token(authorization, 5)
    assert slow.value.slow_down and slow.value.interval == 10


def test_denied_and_expired_codes_end_with_the_reason(client, zevvy):
    denied = client.start_device_authorization()
    assert "Access denied" in zevvy.decide(denied.verification_uri_complete, "deny")
    with pytest.raises(DeviceFlowEnded) as ended:
        client.wait_for_device_token(denied)
    assert ended.value.error == "access_denied"
    assert str(ended.value) == "the person at zevvy denied access"

    expired = client.start_device_authorization()
    assert zevvy.expire_device_codes() == 1
    with pytest.raises(DeviceFlowEnded) as ended:
        client.wait_for_device_token(expired)
    assert ended.value.error == "expired_token"
    assert "expired before anyone approved it" in str(ended.value)
    # Approving an expired code is refused on the page too.
    with pytest.raises(Exception, match="400"):
        zevvy.decide(expired.verification_uri_complete)
    assert client.tokens.load() is None


def test_wrong_client_secret_is_refused_before_any_code(zevvy, calls):
    client = make_client(zevvy, calls, secret="wrong")
    with pytest.raises(AuthError) as refused:
        client.start_device_authorization()
    assert "invalid_client" in str(refused.value) and "ZEVVY_CLIENT_SECRET" in str(refused.value)


def test_missing_endpoints_are_named(zevvy, calls):
    client = make_client(zevvy, calls)
    client.grants.token_url = ""
    with pytest.raises(AuthError, match="ZEVVY_TOKEN_URL is not set"):
        client.check()
    client.grants.token_url = zevvy.token_url
    client.grants.device_authorization_url = ""
    with pytest.raises(AuthError, match="ZEVVY_DEVICE_AUTHORIZATION_URL is not set"):
        client.start_device_authorization()
    assert calls == []


def test_unreachable_authorization_server_is_transient_and_known_not_to_have_arrived():
    client = ZevvyClient(
        "http://127.0.0.1:9/api",
        "portal-sandbox",
        "sandbox-secret",
        token_url="http://127.0.0.1:9/token",
        device_authorization_url="http://127.0.0.1:9/auth/device",
        timeout=(1, 1),
    )
    with pytest.raises(TransientError) as failed:
        client.start_device_authorization()
    assert failed.value.request_may_have_arrived is False


# --- tokens -------------------------------------------------------------------------------


def test_never_connected_says_what_to_run(client):
    with pytest.raises(ReconnectRequired, match="not connected: run manage.py connect_zevvy"):
        client.check()
    with pytest.raises(ReconnectRequired, match="not connected"):
        client.create_device("x")


def test_expired_access_token_is_refreshed_once_and_the_call_repeated(connected, zevvy, calls):
    before = connected.tokens.load()
    zevvy.expire_tokens()
    calls.clear()
    connected.create_device("Zähler", "portal-device-7")
    assert [(c.method, c.path.rsplit("/", 1)[-1], c.status) for c in calls] == [
        ("POST", "devices", 401),
        ("POST", "token", 200),
        ("POST", "devices", 201),
    ]
    after = connected.tokens.load()
    assert after.value != before.value
    # Keycloak rotates refresh tokens; the new one is kept.
    assert after.refresh_token and after.refresh_token != before.refresh_token
    assert 'grant_type": "refresh_token' in calls[1].request_body
    assert zevvy.count("devices") == 1


def test_a_token_near_expiry_is_refreshed_before_the_call(zevvy, calls):
    store = MemoryTokenStore()
    client = make_client(zevvy, calls, store=store)
    token = connect(client, zevvy)
    # As if five minutes had passed: the stored token is about to expire.
    store._token = Token(token.value, time.time() + 30, token.refresh_token)
    calls.clear()
    list(client.list_devices())
    assert [c.path.rsplit("/", 1)[-1].split("?")[0] for c in calls] == ["token", "devices"]
    assert all(c.status == 200 for c in calls)


def test_revoked_grant_asks_a_person_to_connect_again(connected, zevvy):
    assert zevvy.revoke_grants() == 1
    with pytest.raises(ReconnectRequired) as refused:
        connected.create_device("x", "portal-device-2")
    message = str(refused.value)
    assert "invalid_grant" in message and "connect again" in message
    assert "manage.py connect_zevvy" in message
    with pytest.raises(ReconnectRequired, match="connect again"):
        connected.check()
    assert zevvy.count("devices") == 0


def test_check_renews_the_token_and_reads(connected, zevvy, calls):
    calls.clear()
    connected.check()
    assert [c.path.rsplit("/", 1)[-1].split("?")[0] for c in calls] == ["token", "devices"]


# --- devices ------------------------------------------------------------------------------


def test_devices_create_find_update_delete(connected, zevvy):
    device = connected.create_device("Wärmepumpe", "portal-device-1")
    other = connected.create_device("Ohne Referenz")
    assert other["reference"] is None
    assert connected.find_device("portal-device-1")["id"] == device["id"]
    assert connected.find_device("portal-device-99") is None

    connected.update_device(device["id"], "Wärmepumpe Keller", "portal-device-1")
    assert connected.get_device(device["id"])["name"] == "Wärmepumpe Keller"

    with pytest.raises(PermanentError) as taken:
        connected.create_device("Doppelt", "portal-device-1")
    assert taken.value.status == 409 and "already exists" in taken.value.message

    connected.delete_device(device["id"])
    with pytest.raises(NotFoundError):
        connected.delete_device(device["id"])
    assert [d["name"] for d in zevvy.state()["devices"]] == ["Ohne Referenz"]


def test_listing_follows_pages(connected, zevvy):
    for i in range(105):
        connected.create_device(f"Device {i}", f"ref-{i}")
    assert len(list(connected.list_devices())) == 105
    assert zevvy.requests_to("GET /devices") == 2


@pytest.mark.parametrize(
    ("name", "reference", "reason"),
    [
        ("", None, "name: must not be blank"),
        ("x" * 256, None, "name: size must be between 1 and 255"),
        ("ok", "a/b", "reference: must not contain"),
    ],
)
def test_invalid_device_is_a_permanent_error_with_the_field(connected, name, reference, reason):
    with pytest.raises(PermanentError) as refused:
        connected.create_device(name, reference)
    assert refused.value.status == 400
    assert reason in refused.value.message


# --- measurements -------------------------------------------------------------------------


def test_bulk_create_by_name_creates_device_and_register_and_409_is_done(connected, zevvy):
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    batch = [
        {"deviceName": "Ladestation 1", "registerName": "Energie", "readAt": at, "value": 1.5},
        {
            "deviceName": "Ladestation 1",
            "registerName": "Energie",
            "readAt": at + timedelta(minutes=15),
            "value": 2.25,
        },
    ]
    assert connected.bulk_create_measurements(batch) is True
    assert connected.bulk_create_measurements(batch) is False  # 409: already there = done
    state = zevvy.state()
    assert state["counts"] == {**state["counts"], "devices": 1, "registers": 1, "measurements": 2}
    assert state["devices"][0]["name"] == "Ladestation 1"


def test_measurements_in_the_night_the_clocks_go_back_are_sent_in_utc(connected, zevvy, calls):
    """02:30 in Zurich twice on 2026-10-25: sent as the guide's UTC `…Z`, two
    measurements an hour apart (a naive time is refused before anything is sent)."""
    connected.create_device("Wärmepumpe", "portal-device-6")
    zurich = ZoneInfo("Europe/Zurich")
    twice = [datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=zurich) for fold in (0, 1)]
    readings = [{"readAt": at, "value": 10 + i} for i, at in enumerate(twice)]
    assert connected.bulk_create_measurements_by_ref("portal-device-6", "1-0:1.8.0", readings)
    sent = [item["readAt"] for item in json.loads(calls[-1].request_body)]
    assert sent == ["2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z"]
    assert zevvy.count("measurements") == 2
    before = len(calls)
    with pytest.raises(ValueError, match="timezone-aware"):
        connected.bulk_create_measurements_by_ref(
            "portal-device-6", "1-0:1.8.0", [{"readAt": datetime(2026, 10, 25, 2, 30), "value": 1}]
        )
    assert len(calls) == before


def test_bulk_create_by_reference(connected, zevvy, calls):
    connected.create_device("Wärmepumpe", "portal-device-5")
    at = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    readings = [{"readAt": at, "value": 10}, {"readAt": at + timedelta(hours=1), "value": 11}]
    assert connected.bulk_create_measurements_by_ref("portal-device-5", "1-0:1.8.0", readings)
    sent = json.loads(calls[-1].request_body)
    assert sent[0] == {"readAt": "2026-03-01T12:00:00.123Z", "value": 10}
    assert (
        calls[-1].path
        == "/deviceRef/portal-device-5/registerRef/1-0%3A1.8.0/measurements/_bulk_create"
    )
    # A retry of a batch whose answer was lost: 409 = done. One new reading: stored.
    assert not connected.bulk_create_measurements_by_ref("portal-device-5", "1-0:1.8.0", readings)
    more = [*readings, {"readAt": at + timedelta(hours=2), "value": 12}]
    assert connected.bulk_create_measurements_by_ref("portal-device-5", "1-0:1.8.0", more)
    assert zevvy.count("measurements") == 3
    with pytest.raises(NotFoundError):
        connected.bulk_create_measurements_by_ref("unknown", "r", readings)
    with pytest.raises(PermanentError, match=r"\[0\].value: must be a finite number"):
        connected.bulk_create_measurements_by_ref(
            "portal-device-5", "r", [{"readAt": at, "value": "x"}]
        )


# --- failures -----------------------------------------------------------------------------


def test_rate_limit_is_transient_with_retry_after(connected, zevvy):
    zevvy.fault("rate_limit", count=1, retry_after=7)
    with pytest.raises(TransientError) as limited:
        connected.create_device("x", "portal-device-3")
    assert limited.value.status == 429 and limited.value.retry_after == 7
    assert limited.value.request_may_have_arrived is False
    assert zevvy.count("devices") == 0


def test_server_errors_are_transient_then_it_works(connected, zevvy):
    zevvy.fault("error", count=2, status=500)
    for _ in range(2):
        with pytest.raises(TransientError) as failed:
            connected.create_device("x", "portal-device-3")
        assert failed.value.status == 500
    connected.create_device("x", "portal-device-3")
    assert zevvy.count("devices") == 1


def test_a_token_endpoint_failure_is_transient_not_a_lost_grant(connected, zevvy):
    zevvy.expire_tokens()
    zevvy.fault("error", count=1, status=503, path="/openid-connect/token")
    with pytest.raises(TransientError):
        connected.create_device("x", "portal-device-3")
    connected.create_device("x", "portal-device-3")  # the grant is still good
    assert zevvy.count("devices") == 1


def test_timeout_after_the_device_was_created_is_found_by_reference(connected, zevvy):
    zevvy.fault("timeout", count=1, delay=3, path="/api/devices")
    with pytest.raises(TransientError) as timed_out:
        connected.create_device("Wärmepumpe", "portal-device-8")
    assert timed_out.value.request_may_have_arrived
    found = connected.find_device("portal-device-8")
    assert found is not None and found["name"] == "Wärmepumpe"
    assert zevvy.count("devices") == 1


def test_a_2xx_that_is_not_the_promised_json_is_transient(zevvy, calls):
    # The portal's own login page answers 200 HTML, as a maintenance page would.
    store = MemoryTokenStore()
    store._token = Token("any", time.time() + 3600, "r")
    client = make_client(zevvy, calls, store=store, base=f"{zevvy.base}/admin/login/?next=")
    with pytest.raises(TransientError) as odd:
        list(client.list_devices())
    assert "200" in odd.value.message and "<!DOCTYPE html>" in odd.value.message
