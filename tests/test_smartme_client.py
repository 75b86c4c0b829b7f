"""The bare smart-me client (no Django in it) against the sandbox over real HTTP: each
auth mode, refused credentials, a token expiring mid-run, 429, 5xx, a timeout, and
2xx answers that are not the API's."""

import time

import pytest
from django.conf import settings

from providers.errors import AuthError, PermanentError, TransientError
from providers.http import CallRecord
from providers.smartme.client import ConfigurationError, Credentials, SmartMeClient
from providers.smartme.values import format_value_date, parse_value_date
from providers.tokens import MemoryTokenStore, Token
from tests.conftest import SandboxControl

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN_CALL = "POST /oauth/token"  # where smart-me's own sample gets tokens (NOTES.md)


@pytest.fixture
def smartme(portal, live_server) -> SandboxControl:
    return SandboxControl(live_server.url, "smartme")


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


def credentials(mode: str, **wrong) -> Credentials:
    good = {
        "basic": {"username": settings.SANDBOX_CLIENT_ID,
                  "password": settings.SANDBOX_CLIENT_SECRET},
        "apikey": {"api_key": settings.SANDBOX_SMARTME_API_KEY},
        "oauth": {"client_id": settings.SANDBOX_CLIENT_ID,
                  "client_secret": settings.SANDBOX_CLIENT_SECRET},
    }[mode]  # fmt: skip
    return Credentials(**{**good, **wrong})


@pytest.fixture
def make(smartme, calls):
    def make(mode: str = "oauth", *, base: str | None = None, **options) -> SmartMeClient:
        creds = options.pop("credentials", None) or credentials(mode)
        options.setdefault("timeout", (2, 2))
        return SmartMeClient(base or smartme.root, creds, on_call=calls.append, **options)

    return make


@pytest.mark.parametrize("mode", ["basic", "apikey", "oauth"])
def test_each_auth_mode_reads_devices_energy_types_and_gateways(make, smartme, mode):
    client = make(mode)
    assert client.mode == mode
    devices = client.list_devices()
    assert len(devices) == 34
    water = client.devices_by_energy(2)
    assert water and {d["DeviceEnergyType"] for d in water} == {2}
    [gateway] = client.mbus_gateways()
    mbus = client.mbus_gateway(gateway["Id"])
    assert len(mbus["Meters"]) == 12
    one = client.device(mbus["Meters"][0]["Id"])
    assert parse_value_date(one["ValueDate"]).tzinfo is not None
    tokens = smartme.requests_to(TOKEN_CALL)
    assert tokens == (1 if mode == "oauth" else 0)  # one token for the whole run


def test_auth_mode_is_whichever_is_configured():
    everything = Credentials("user", "pw", "key", "id", "secret")
    assert everything.mode() == "oauth"
    assert Credentials("user", "pw", "key").mode() == "apikey"
    assert Credentials("user", "pw").mode() == "basic"
    assert everything.mode("basic") == "basic"
    with pytest.raises(ConfigurationError, match="needs api_key"):
        Credentials("user", "pw").mode("apikey")
    with pytest.raises(ConfigurationError, match="no credentials"):
        Credentials(username="user").mode()


def test_oauth_token_goes_through_authlib_and_is_logged_without_secrets(make, calls):
    make("oauth").list_devices()
    token_call, read = calls
    assert token_call.path == "/oauth/token" and token_call.status == 200
    assert "scope=device.read" in token_call.request_body  # the sample's scope
    # client_secret_basic: the secret travels in a header, which is never logged.
    logged = " ".join(c.request_body + c.response_body for c in calls)
    assert settings.SANDBOX_CLIENT_SECRET not in logged
    assert read.path == "/Devices" and read.status == 200


def test_token_path_and_scope_are_settings_and_post_auth_works(make, smartme, calls):
    client = make(
        "oauth", token_path="/api/oauth/token/", token_auth_method="client_secret_post",
        scope="device.read device.write",
    )  # fmt: skip
    client.list_devices()
    assert smartme.requests_to("POST /api/oauth/token/") == 1  # the guide's path
    assert smartme.requests_to(TOKEN_CALL) == 0
    assert "scope=device.read+device.write" in calls[0].request_body


def test_a_scope_smartme_does_not_know_is_refused_in_words(make):
    with pytest.raises(AuthError, match="Unknown scope: meters.everything"):
        make("oauth", scope="meters.everything").list_devices()


def test_token_expiring_mid_run_is_replaced_once(make, smartme, calls):
    store = MemoryTokenStore()
    client = make("oauth", token_store=store)
    client.list_devices()
    first = store.load()
    smartme.expire_tokens()  # the platform revokes early: our cached token looks fresh
    assert len(client.list_devices()) == 34
    assert store.load().value != first.value
    assert smartme.requests_to(TOKEN_CALL) == 2
    assert [c.status for c in calls] == [200, 200, 401, 200, 200]


def test_token_near_expiry_is_refreshed_before_the_call(make, smartme, calls):
    store = MemoryTokenStore()
    store.refresh(lambda: Token("old-but-valid", time.time() + 20), stale=None)
    make("oauth", token_store=store).list_devices()
    # Within the margin: a new token first, so no call is made with one about to die.
    assert [c.status for c in calls] == [200, 200]
    assert smartme.requests_to(TOKEN_CALL) == 1


def test_a_token_refused_twice_is_an_auth_error(make, smartme):
    smartme.fault("error", count=2, status=401, path="/Devices")
    with pytest.raises(AuthError):
        make("oauth").list_devices()
    assert smartme.requests_to(TOKEN_CALL) == 2  # one fresh token, then we give up


@pytest.mark.parametrize(
    ("mode", "wrong"),
    [("basic", {"password": "nope"}), ("apikey", {"api_key": "nope"}),
     ("oauth", {"client_secret": "nope"})],
)  # fmt: skip
def test_bad_credentials_are_an_auth_error(make, smartme, mode, wrong):
    client = make(mode, credentials=credentials(mode, **wrong))
    with pytest.raises(AuthError) as refused:
        client.list_devices()
    assert refused.value.status == 401
    assert "denied" in refused.value.message or "invalid" in refused.value.message
    # Basic and ApiKey have no token to renew: one call, no retry.
    assert smartme.requests_to("GET /Devices") == (0 if mode == "oauth" else 1)


def test_rate_limit_longer_than_the_client_waits_carries_retry_after(make, smartme):
    smartme.fault("rate_limit", count=1, retry_after=7)
    with pytest.raises(TransientError) as limited:
        make("apikey", max_wait=5).list_devices()
    assert limited.value.status == 429 and limited.value.retry_after == 7


def rate_limit(smartme, requests: int, per_seconds: float) -> None:
    response = smartme.http.post(
        f"{smartme.control}/rate_limit",
        json={"requests": requests, "per_seconds": per_seconds},
        timeout=10,
    )
    response.raise_for_status()


@pytest.mark.parametrize("mode", ["apikey", "oauth"])
def test_the_client_honours_retry_after_from_the_sandboxs_rate_limit(make, smartme, calls, mode):
    """The sandbox enforces its limit (2 requests per 2 s here, the token endpoint
    included) with 429 and Retry-After; the client waits that long, then reads on, and
    never asks again while it waits."""
    rate_limit(smartme, 2, 2.0)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        time.sleep(seconds)

    client = make(mode, sleep=sleep)
    started = time.monotonic()
    results = [len(client.list_devices()) for _ in range(4)]

    assert results == [34] * 4
    limited = [c for c in calls if c.status == 429]
    assert limited and len(slept) == len(limited)  # each 429 waited out, none resent early
    assert all(1 <= s <= 2 for s in slept)  # whole seconds, as the header says
    assert time.monotonic() - started >= sum(slept)
    state = smartme.http.get(f"{smartme.control}/rate_limit", timeout=10).json()
    assert state["refused"] == len(limited)


def test_server_errors_are_transient_and_gateway_errors_retried_once(make, smartme):
    smartme.fault("error", count=1, status=500)
    with pytest.raises(TransientError) as failed:
        make("basic").list_devices()
    assert failed.value.status == 500
    # A 503 on a read is retried by the transport (urllib3) before anyone sees it.
    smartme.fault("error", count=1, status=503)
    assert len(make("basic").list_devices()) == 34
    assert smartme.requests_to("GET /Devices") == 3


def test_a_timeout_is_transient(make, smartme):
    # Reads are retried twice by the transport: three slow answers make a timeout.
    smartme.fault("timeout", count=3, delay=2)
    started = time.monotonic()
    with pytest.raises(TransientError) as slow:
        make("apikey", timeout=(1, 1)).list_devices()
    assert time.monotonic() - started < 10
    # urllib3 reports the exhausted read retries as a ConnectionError (providers/http.py).
    assert slow.value.status is None and slow.value.request_may_have_arrived
    assert smartme.requests_to("GET /Devices") == 3


def test_an_answer_that_is_not_the_api_is_transient_with_its_first_words(make, live_server):
    # A base URL pointing at a web page: the portal's own admin answers 200 with HTML.
    client = make("basic", base=f"{live_server.url}/admin")
    with pytest.raises(TransientError) as garbage:
        client.list_devices()
    assert garbage.value.status == 200
    assert "expected JSON" in garbage.value.message and "Log in" in garbage.value.message
    # A token path with no OAuth endpoint behind it: not a credentials problem.
    oauth = make("oauth", base=f"{live_server.url}/admin")
    with pytest.raises(PermanentError, match="no OAuth token endpoint") as wrong_path:
        oauth.list_devices()
    assert not isinstance(wrong_path.value, AuthError)


def test_a_maintenance_page_served_with_200_is_transient(make, smartme):
    smartme.fault("maintenance", count=1, path="/gateway/mbus")
    client = make("oauth")
    [gateway] = client.mbus_gateways()
    with pytest.raises(TransientError) as garbage:
        client.mbus_gateway(gateway["Id"])
    assert garbage.value.status == 200 and "We'll be back soon" in garbage.value.message
    # The token endpoint too: a 200 that is not a token is no token.
    smartme.fault("maintenance", count=1, path="/oauth/token")
    # Named by its type, never quoted: an auth endpoint's odd answer may hold a token.
    with pytest.raises(TransientError, match=r"not JSON: HTTP 200 \(text/html") as login:
        make("oauth").list_devices()
    assert "back soon" not in login.value.message


def test_connection_refused_is_transient():
    dead = SmartMeClient("http://127.0.0.1:1", Credentials(api_key="k"), timeout=(1, 1))
    with pytest.raises(TransientError) as refused:
        dead.check()
    assert refused.value.status is None and not refused.value.request_may_have_arrived


def test_check_authenticates_afresh(make, smartme):
    store = MemoryTokenStore()
    client = make("oauth", token_store=store)
    client.list_devices()
    client.check()
    assert smartme.requests_to(TOKEN_CALL) == 2
    assert smartme.requests_to("GET /DevicesByEnergy") == 1


def test_value_date_has_seven_fractional_digits_and_z():
    moment = parse_value_date("2026-03-22T05:30:00.1234567Z")
    assert moment.isoformat() == "2026-03-22T05:30:00.123456+00:00"
    assert format_value_date(moment) == "2026-03-22T05:30:00.1234560Z"
    assert parse_value_date("2026-03-22T06:30:00+01:00") == parse_value_date("2026-03-22T05:30:00Z")
    with pytest.raises(ValueError):
        parse_value_date("yesterday")
